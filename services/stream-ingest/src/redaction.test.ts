import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAV_HEADER_BYTES, parseWavHeader } from '@calltx/audio';
import { transcriptEvents, type TranscriptRedaction, type Track } from '@calltx/events';
import { publishEvent } from '@calltx/nats';
import { FRAME_BYTES } from './frames/frame.js';
import { partKey, unreadablePartKey, wavKey } from './spool/object-keys.js';
import { encodePart } from './spool/part-format.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { framesOf, speechMulaw } from './testing/speech-audio.js';
import { SPEAKERS, SyntheticCall } from './testing/synthetic-call.js';

/**
 * AUDIO_REDACT on stream WAVs, on real speech (espeak-ng): spans of live finals, published as the transcriber
 * publishes them, before the WAVs exist and after. The bar: every sample in a span exactly 0, every other one
 * bit-identical to the unredacted file, at 8 and 16 kHz.
 */
describe('stream audio redaction', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env, {
      timing: { idleFinalizeMs: 3_000, endedGraceMs: 1_000 },
      audioRedaction: { fill: 'silence' },
      partRecoveryIntervalMs: 500,
    });
  });

  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  let sequence = 0;
  async function publishFinal(
    call: SyntheticCall,
    track: Track,
    source: 'live' | 'recording',
    redactions: TranscriptRedaction[],
  ): Promise<void> {
    const speaker = SPEAKERS[track];
    const n = sequence++;
    const segmentId =
      source === 'live' ? `${call.callSid}:${speaker}:${n}` : `RE${'0'.repeat(32)}:${speaker}:${n}`;
    const at = new Date().toISOString();
    await publishEvent(
      env.js,
      env.subjects.transcript(call.callSid, speaker, 'final'),
      transcriptEvents.final({
        final: true,
        callSid: call.callSid,
        speaker,
        segmentId,
        sequence: n,
        startMs: Math.min(...redactions.map((r) => r.startMs)),
        endMs: Math.max(...redactions.map((r) => r.endMs)),
        text: redactions.map((r) => `[${r.kind.toUpperCase()}]`).join(' '),
        source,
        modelId: 'test',
        timing: { audioEndAt: at, publishedAt: at, latencyMs: 0 },
        redactions,
      }),
      `${segmentId}:final`,
    );
  }

  function samples(wav: Buffer): Int16Array {
    const info = parseWavHeader(wav);
    const out = new Int16Array(info.dataBytes / 2);
    for (let i = 0; i < out.length; i++) out[i] = wav.readInt16LE(info.dataOffset + 2 * i);
    return out;
  }

  /** Exactly zero inside the spans, bit-identical outside; returns the samples zeroed that held speech. */
  function expectCovered(
    actual: Int16Array,
    unredacted: Int16Array,
    rate: number,
    spans: TranscriptRedaction[],
  ) {
    expect(actual.length).toBe(unredacted.length);
    const inSpan = new Uint8Array(actual.length);
    for (const { startMs, endMs } of spans) {
      inSpan.fill(1, Math.floor((startMs * rate) / 1000), Math.ceil((endMs * rate) / 1000));
    }
    let removed = 0;
    for (let i = 0; i < actual.length; i++) {
      const want = inSpan[i] ? 0 : unredacted[i]!;
      if (actual[i] !== want) throw new Error(`${rate} Hz sample ${i}: ${actual[i]}, want ${want}`);
      if (inSpan[i] && unredacted[i] !== 0) removed += 1;
    }
    return removed;
  }

  /** Both WAVs of a speaker against the unredacted audio, and their rows against the stored bytes. */
  async function expectSpeakerFiles(call: SyntheticCall, track: Track, spans: TranscriptRedaction[]) {
    const speaker = SPEAKERS[track];
    const files = await env.repo.files(call.callSid);
    for (const [rate, unredacted] of [
      [8000, call.expectedPcm8k(track)],
      [16000, call.expectedPcm16k(track)],
    ] as const) {
      const wav = await env.store.getBuffer(wavKey(call.callSid, speaker, rate));
      expect(wav.length).toBe(WAV_HEADER_BYTES + unredacted.length * 2);
      const removed = expectCovered(samples(wav), unredacted, rate, spans);
      // The spans were over speech: audio was actually taken out.
      if (spans.length > 0) expect(removed).toBeGreaterThan((rate / 1000) * 100);
      expect(files.find((f) => f.speaker === speaker && f.sampleRate === rate)).toMatchObject({
        bytes: wav.length,
        sha256: createHash('sha256').update(wav).digest('hex'),
        redactionsApplied: spans.length,
      });
    }
  }

  it('silences spans that arrive before the WAVs and after, only there, and purges the call’s media', async () => {
    const agentSpeech = speechMulaw(
      'My card number is four five three nine, one four eight eight, zero three four three.',
    );
    const techSpeech = speechMulaw(
      'Thanks. And my phone is four one five, five five five, zero one three two.',
    );
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    const silence = (fromMs: number, ms: number) =>
      framesOf(Buffer.alloc((ms / 20) * FRAME_BYTES, 0xff), fromMs);
    const agentMs = Math.ceil(agentSpeech.length / FRAME_BYTES) * 20;
    const techMs = Math.ceil(techSpeech.length / FRAME_BYTES) * 20;
    const agentFrames = [...silence(0, 500), ...framesOf(agentSpeech, 500)];
    const techFrames = [...silence(0, 1_000), ...framesOf(techSpeech, 1_000)];
    for (let i = 0; i < Math.max(agentFrames.length, techFrames.length); i += 25) {
      if (i < agentFrames.length) await call.send('inbound', agentFrames.slice(i, i + 25));
      if (i < techFrames.length) await call.send('outbound', techFrames.slice(i, i + 25));
    }
    expect(agentMs).toBeGreaterThan(3_000);
    expect(techMs).toBeGreaterThan(3_000);

    // Before the WAVs exist: a live final of the agent with two spans (word timing: odd milliseconds), and a
    // recording final (recording time: not this file's time base) that must change nothing here.
    const agentSpans = [
      { kind: 'card', startMs: 1_733, endMs: 2_911 },
      { kind: 'card', startMs: 3_001, endMs: 3_457 },
    ];
    await publishFinal(call, 'inbound', 'live', agentSpans);
    await publishFinal(call, 'outbound', 'recording', [{ kind: 'phone', startMs: 1_500, endMs: 2_500 }]);
    await eventually(async () =>
      expect((await env.repo.redactions(call.callSid)).get('agent')).toHaveLength(2),
    );
    expect((await env.repo.redactions(call.callSid)).get('technician')).toBeUndefined();

    await call.stop();
    await eventually(
      async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
      30_000,
    );
    await expectSpeakerFiles(call, 'inbound', agentSpans);
    await expectSpeakerFiles(call, 'outbound', []);

    // The frames are gone from MEDIA: the WAVs are the only copy, and they are redacted.
    const media = await env.jsm.streams.info(env.subjects.streamName('media'), {
      subjects_filter: env.subjects.all('media', call.callSid),
    });
    expect(media.state.subjects ?? {}).toEqual({});

    // After the WAVs exist: a technician span rewrites the technician's files, and the agent's stay as they were.
    const agent8k = await env.store.getBuffer(wavKey(call.callSid, 'agent', 8000));
    const techSpans = [{ kind: 'phone', startMs: 2_207, endMs: 3_380 }];
    await publishFinal(call, 'outbound', 'live', techSpans);
    // A repeat (redelivery, replay) changes nothing.
    await publishFinal(call, 'outbound', 'live', techSpans);
    await eventually(async () => {
      const files = await env.repo.files(call.callSid);
      expect(files.filter((f) => f.speaker === 'technician').map((f) => f.redactionsApplied)).toEqual([1, 1]);
    });
    await expectSpeakerFiles(call, 'outbound', techSpans);
    await expectSpeakerFiles(call, 'inbound', agentSpans);
    expect(Buffer.compare(await env.store.getBuffer(wavKey(call.callSid, 'agent', 8000)), agent8k)).toBe(0);
    expect(await ingest.metric('calltx_ingest_redacted_files_total', { sample_rate: '8000' })).toBe(2);
  });
  it('covers the spans again when the WAVs are written anew from a recovered part', async () => {
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    await call.stream(0, 2_000, 5);
    // An empty object under the name of a part of the agent's 2.00–2.98 s (an upload killed midway).
    const lost = call.framesAt(
      'inbound',
      Array.from({ length: 50 }, (_, i) => 2_000 + 20 * i),
    );
    const key = partKey(call.callSid, 'agent', 2_000, 2_980);
    await env.store.putObject(key, Buffer.alloc(0));
    await call.stream(3_000, 5_000, 5, ['inbound']);
    await call.stream(2_000, 5_000, 5, ['outbound']);
    const spans = [{ kind: 'card', startMs: 1_517, endMs: 2_503 }];
    await publishFinal(call, 'inbound', 'live', spans);
    await call.stop();
    await eventually(
      async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
      30_000,
    );
    await expectSpeakerFiles(call, 'inbound', spans);

    // The part reads again: the WAVs are written from all the parts, then covered again before re-announcing.
    await env.store.putObject(
      unreadablePartKey(call.callSid, 'agent', key),
      encodePart(
        lost.map((f) => ({ timestampMs: f.timestampMs, payload: Buffer.from(f.payload, 'base64') })),
      ),
    );
    for (const f of lost) call.frames.inbound.set(f.timestampMs, Buffer.from(f.payload, 'base64'));
    await eventually(
      async () =>
        expect(await ingest.metric('calltx_ingest_recovered_part_frames_total', { speaker: 'agent' })).toBe(
          50,
        ),
      30_000,
    );
    await expectSpeakerFiles(call, 'inbound', spans);
    await expectSpeakerFiles(call, 'outbound', []);
  });
});
