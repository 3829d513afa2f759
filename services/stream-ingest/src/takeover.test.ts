import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpeechSegment, decodeEvent } from '@calltx/shared';
import { FRAME_BYTES } from './frames/frame.js';
import { parsePartKey, partsPrefix } from './spool/object-keys.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { kill, spawnIngest, type IngestProcess } from './testing/process.js';
import { framesOf, speechMulaw } from './testing/speech-audio.js';
import { SPEAKERS, SyntheticCall, type SentFrame } from './testing/synthetic-call.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silence = (ms: number) => Buffer.alloc((ms / 20) * FRAME_BYTES, 0xff);
const SPEAKER = SPEAKERS.inbound;

/** Four utterances a speaker says with pauses between them, as 20 ms frames from call time 0. */
function conversation(): SentFrame[] {
  const say = (text: string) => speechMulaw(text);
  return framesOf(
    Buffer.concat([
      silence(1_000),
      say('The compressor on unit four is leaking oil.'),
      silence(1_200),
      say('I checked the pressure gauge twice this morning and it keeps dropping below the red line.'),
      silence(1_200),
      say('Please bring a new gasket and the long wrench.'),
      silence(1_200),
      say('Thank you, see you at noon.'),
      silence(2_000),
    ]),
    0,
  );
}

describe('a live path taken over after SIGKILL', () => {
  let env: TestEnvironment;
  const running = new Set<IngestProcess>();

  // Claim TTL and sweep interval stay at their defaults: the takeover a deployment gets.
  const start = async () => {
    const ingest = await spawnIngest(
      env.processEnv({
        INGEST_PART_FLUSH_MS: '250',
        STREAM_IDLE_FINALIZE_MS: '60000',
        SHUTDOWN_GRACE_MS: '5000',
      }),
    );
    running.add(ingest);
    return ingest;
  };

  beforeAll(async () => {
    env = await createTestEnvironment();
  });

  afterEach(async () => {
    for (const ingest of running) {
      ingest.child.kill('SIGTERM');
      await ingest.exited;
    }
    running.clear();
  });

  afterAll(async () => {
    await env?.close();
  });

  /** The call's segments of a kind as stored in AUDIO (read by sequence: AUDIO is a work queue). */
  async function segments(callSid: string, kind: 'partial' | 'final'): Promise<SpeechSegment[]> {
    const subject = env.subjects.audio(callSid, SPEAKER, kind);
    const stream = env.subjects.streamName('audio');
    const { state } = await env.jsm.streams.info(stream);
    const out: SpeechSegment[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const msg = await env.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (msg?.subject === subject) out.push(decodeEvent(SpeechSegment, msg.data));
    }
    return out;
  }

  const finalized = (callSid: string) =>
    eventually(async () => expect((await env.repo.get(callSid))?.ingestState).toBe('finalized'), 60_000, 200);

  /** Sends the frames at twice real time (100 ms a message), calling `between` after each message. */
  async function play(call: SyntheticCall, frames: SentFrame[], between?: (sentMs: number) => Promise<void>) {
    for (let i = 0; i < frames.length; i += 5) {
      await call.send('inbound', frames.slice(i, i + 5));
      await sleep(50);
      await between?.(frames[Math.min(i + 5, frames.length) - 1]!.timestampMs);
    }
  }

  it(
    'publishes one final per utterance, with the bounds and sequence of a fault-free run',
    { timeout: 180_000 },
    async () => {
      const frames = conversation();
      const a = await start();

      // The same audio without a fault: the reference.
      const reference = new SyntheticCall(env.js, env.subjects, ['inbound']);
      await reference.start();
      await eventually(() => expect(a.claimed()).toContain(reference.callSid));
      await play(reference, frames);
      await reference.stop();
      await finalized(reference.callSid);
      const expected = (await segments(reference.callSid, 'final')).sort((x, y) => x.startMs - y.startMs);
      expect(expected.length).toBeGreaterThanOrEqual(3);

      // A takes the call, B stands by; A dies in the middle of the second utterance, once the audio from before
      // that utterance's start is stored and acknowledged (so its consumer no longer delivers it).
      const call = new SyntheticCall(env.js, env.subjects, ['inbound']);
      await call.start();
      await eventually(() => expect(a.claimed()).toContain(call.callSid));
      const b = await start();
      const second = expected[1]!;
      const midUtterance = async () => {
        const partial = (await segments(call.callSid, 'partial')).find(
          (p) => p.startMs >= expected[0]!.endMs,
        );
        if (!partial || partial.endMs - partial.startMs < 1_000) return false;
        for await (const { key } of env.store.list(partsPrefix(call.callSid, SPEAKER))) {
          if ((parsePartKey(key)?.lastTs ?? 0) > partial.startMs + 500) return true;
        }
        return false;
      };
      let killedAt: number | null = null;
      await play(call, frames, async (sentMs) => {
        if (killedAt !== null || sentMs < second.startMs + 1_000) return;
        if (!(await midUtterance())) return;
        await kill(a);
        running.delete(a);
        killedAt = sentMs;
      });
      expect(killedAt, 'A was killed mid-utterance').not.toBeNull();
      await eventually(() => expect(b.claimed()).toContain(call.callSid), 60_000, 100);
      await call.stop();
      await finalized(call.callSid);

      const finals = (await segments(call.callSid, 'final')).sort((x, y) => x.startMs - y.startMs);
      const bounds = (list: SpeechSegment[]) => list.map(({ startMs, endMs }) => ({ startMs, endMs }));
      expect(finals.length, JSON.stringify({ got: bounds(finals), expected: bounds(expected) })).toBe(
        expected.length,
      );
      finals.forEach((final, i) => {
        const want = expected[i]!;
        const detail = JSON.stringify({ got: bounds(finals), expected: bounds(expected), killedAt });
        expect(Math.abs(final.startMs - want.startMs), detail).toBeLessThanOrEqual(100);
        expect(Math.abs(final.endMs - want.endMs), detail).toBeLessThanOrEqual(100);
        expect(final.sequence).toBe(want.sequence);
      });
      // Per call and speaker, increasing with startMs, and one segment id per utterance.
      expect(finals.map((f) => f.sequence)).toEqual(expected.map((_, i) => i));
      expect(new Set(finals.map((f) => f.segmentId)).size).toBe(finals.length);
    },
  );
});
