import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpeechSegment } from '@calltx/events/internal';
import { decodeEvent } from '@calltx/events';
import { writeCallWavs } from './finalize/call-wavs.js';
import { FRAME_BYTES } from './frames/frame.js';
import { partKey } from './spool/object-keys.js';
import { encodePart } from './spool/part-format.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { framesOf, speechMulaw } from './testing/speech-audio.js';
import { SPEAKERS, SyntheticCall } from './testing/synthetic-call.js';

describe('live speech path', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env);
  });

  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  /** Segments on a subject, read by sequence (AUDIO is a work queue: a consumer would take them away). */
  async function segments(subject: string): Promise<SpeechSegment[]> {
    const stream = env.subjects.streamName('audio');
    const { state } = await env.jsm.streams.info(stream);
    const out: SpeechSegment[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const msg = await env.jsm.streams.getMessage(stream, { seq });
      if (msg?.subject === subject) out.push(decodeEvent(SpeechSegment, msg.data));
    }
    return out;
  }

  it('publishes the speaker’s utterances at 16 kHz with call-time offsets, the same audio as the stored file', async () => {
    const speech = speechMulaw('The compressor on unit four is leaking oil. Please bring a new gasket.');
    const speechMs = Math.ceil(speech.length / FRAME_BYTES) * 20;
    const call = new SyntheticCall(env.js, env.subjects, ['inbound']);
    await call.start();
    const silence = (fromMs: number, ms: number) =>
      framesOf(Buffer.alloc((ms / 20) * FRAME_BYTES, 0xff), fromMs);
    const frames = [...silence(0, 1_000), ...framesOf(speech, 1_000), ...silence(1_000 + speechMs, 2_000)];
    for (let i = 0; i < frames.length; i += 10) await call.send('inbound', frames.slice(i, i + 10));
    await call.stop();

    const finals = await eventually(async () => {
      const found = await segments(env.subjects.audio(call.callSid, 'agent', 'final'));
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    const partials = await segments(env.subjects.audio(call.callSid, 'agent', 'partial'));
    expect(partials.length).toBeGreaterThan(0);

    const first = finals[0]!;
    const last = finals.at(-1)!;
    expect(first).toMatchObject({
      callSid: call.callSid,
      speaker: 'agent',
      final: true,
      sampleRate: 16000,
      sequence: 0,
    });
    // Speech starts at 1 s of call time and lasts speechMs; utterances carry a little padding around it.
    expect(first.startMs).toBeGreaterThanOrEqual(600);
    expect(first.startMs).toBeLessThanOrEqual(1_300);
    expect(last.endMs).toBeGreaterThanOrEqual(1_000 + speechMs - 500);
    expect(last.endMs).toBeLessThanOrEqual(1_000 + speechMs + 600);
    const expected16k = call.expectedPcm16k('inbound');
    for (const segment of finals) {
      const pcm = Buffer.from(segment.pcm, 'base64');
      expect(pcm.length).toBe((segment.endMs - segment.startMs) * 32);
      const start = segment.startMs * 16;
      expect(
        Buffer.compare(pcm, Buffer.from(expected16k.buffer, expected16k.byteOffset + start * 2, pcm.length)),
      ).toBe(0);
    }
    expect(
      await ingest.metric('calltx_ingest_speech_segments_total', { kind: 'final', outcome: 'published' }),
    ).toBe(finals.length);
  });

  it('publishes the finals a dead owner left unpublished when it takes over a call whose WAVs were stored', async () => {
    // The dead owner stored the WAVs (the call is `stored`) but died while its last final waited for JetStream.
    const speech = speechMulaw('The compressor on unit four is leaking oil. Please bring a new gasket.');
    const call = new SyntheticCall(env.js, env.subjects, ['inbound']);
    const silence = (fromMs: number, ms: number) =>
      framesOf(Buffer.alloc((ms / 20) * FRAME_BYTES, 0xff), fromMs);
    const speechMs = Math.ceil(speech.length / FRAME_BYTES) * 20;
    const frames = [...silence(0, 1_000), ...framesOf(speech, 1_000), ...silence(1_000 + speechMs, 1_000)];
    const spooled = frames.map((f) => ({
      timestampMs: f.timestampMs,
      payload: Buffer.from(f.payload, 'base64'),
    }));
    await env.store.putObject(
      partKey(call.callSid, SPEAKERS.inbound, 0, frames.at(-1)!.timestampMs),
      encodePart(spooled),
    );
    await env.pool.query(
      `INSERT INTO calls (call_sid, ingest_state, tracks, speakers) VALUES ($1, 'none', $2, $3)`,
      [call.callSid, ['inbound'], JSON.stringify(SPEAKERS)],
    );
    const wavs = await writeCallWavs(env.store, call.callSid, ['agent']);
    await env.repo.markStored(call.callSid, wavs, 'stopped');
    await env.pool.query(`UPDATE calls SET ingest_state = 'stored' WHERE call_sid = $1`, [call.callSid]);

    const finals = await eventually(async () => {
      const found = await segments(env.subjects.audio(call.callSid, 'agent', 'final'));
      expect(found.length).toBeGreaterThan(0);
      return found;
    }, 30_000);
    expect(finals.at(-1)!.endMs).toBeGreaterThanOrEqual(1_000 + speechMs - 500);
  });
});
