import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SpeechSegment } from '@calltx/events/internal';
import { decodeEvent } from '@calltx/events';
import { isMediaConsumerOf, mediaConsumerName } from './calls/media-consumer.js';
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
      silence(1_500),
      say('I checked the pressure gauge twice this morning and it keeps dropping below the red line.'),
      silence(1_500),
      say('Please bring a new gasket and the long wrench.'),
      silence(1_500),
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

  let frames: SentFrame[];
  let expected: SpeechSegment[];
  const bounds = (list: SpeechSegment[]) => list.map(({ startMs, endMs }) => ({ startMs, endMs }));

  /** The same audio without a fault: the reference every takeover is held to. */
  beforeAll(async () => {
    frames = conversation();
    const ingest = await start();
    const reference = new SyntheticCall(env.js, env.subjects, ['inbound']);
    await reference.start();
    await eventually(() => expect(ingest.claimed()).toContain(reference.callSid));
    await play(reference, frames);
    await reference.stop();
    await finalized(reference.callSid);
    expected = (await segments(reference.callSid, 'final')).sort((x, y) => x.startMs - y.startMs);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    // Gone before the tests start, so that each test's first replica claims its call.
    ingest.child.kill('SIGTERM');
    await ingest.exited;
    running.delete(ingest);
  }, 120_000);

  /** Some audio of the call is stored (acknowledged, so its consumer no longer delivers it) past `ms`. */
  async function storedPast(callSid: string, ms: number): Promise<boolean> {
    for await (const { key } of env.store.list(partsPrefix(callSid, SPEAKER))) {
      if ((parsePartKey(key)?.lastTs ?? 0) > ms) return true;
    }
    return false;
  }

  /** A partial of utterance `n` (of the reference) that spans a second, with its first 500 ms stored. */
  const midUtterance = (n: number) => async (callSid: string, seen: SpeechSegment[]) => {
    const partial = seen.find(
      (p) => !p.final && p.startMs >= (expected[n - 1]?.endMs ?? 0) && p.startMs < expected[n]!.endMs,
    );
    return (
      !!partial && partial.endMs - partial.startMs >= 1_000 && storedPast(callSid, partial.startMs + 500)
    );
  };

  /**
   * A owns the call and B stands by; A is SIGKILLed once `due` holds, B takes the call over, and its finals
   * are compared with the reference.
   */
  async function takeover(
    due: (callSid: string, seen: SpeechSegment[]) => boolean | Promise<boolean>,
  ): Promise<void> {
    const a = await start();
    const call = new SyntheticCall(env.js, env.subjects, ['inbound']);
    await call.start();
    await eventually(() => expect(a.claimed()).toContain(call.callSid));
    const b = await start();
    // What A publishes, as it publishes it (a core subscription: cheap to poll, and blind to deduplication).
    const seen: SpeechSegment[] = [];
    const watching = env.nc.subscribe(env.subjects.all('audio', call.callSid), {
      callback: (error, msg) => {
        if (!error) seen.push(decodeEvent(SpeechSegment, msg.data));
      },
    });
    let killedAt: number | null = null;
    await play(call, frames, async (sentMs) => {
      if (killedAt !== null || !(await due(call.callSid, seen))) return;
      await kill(a);
      running.delete(a);
      killedAt = sentMs;
    });
    watching.unsubscribe();
    expect(killedAt, 'A was killed').not.toBeNull();
    await eventually(() => expect(b.claimed()).toContain(call.callSid), 60_000, 100);
    // B consumes through a consumer of the next generation and A's is deleted: no consumer name is created twice
    // (NATS 2.9.10 restores a consumer deleted and created again stale after a restart).
    await eventually(async () => {
      const names = [];
      for await (const c of env.jsm.consumers.list(env.subjects.streamName('media'))) names.push(c.name);
      expect(names.filter((name) => isMediaConsumerOf(name, call.callSid))).toEqual([
        mediaConsumerName(call.callSid, 2),
      ]);
    }, 30_000);
    await call.stop();
    await finalized(call.callSid);

    const finals = (await segments(call.callSid, 'final')).sort((x, y) => x.startMs - y.startMs);
    const detail = JSON.stringify({ got: bounds(finals), expected: bounds(expected), killedAt });
    expect(finals.length, detail).toBe(expected.length);
    finals.forEach((final, i) => {
      const want = expected[i]!;
      expect(Math.abs(final.startMs - want.startMs), detail).toBeLessThanOrEqual(100);
      expect(Math.abs(final.endMs - want.endMs), detail).toBeLessThanOrEqual(100);
    });
    // Per call and speaker, increasing with startMs, and one segment id per utterance.
    expect(finals.map((f) => f.sequence)).toEqual(expected.map((_, i) => i));
    expect(new Set(finals.map((f) => f.segmentId)).size).toBe(finals.length);
  }

  it('killed in the first utterance, before any final', { timeout: 120_000 }, () =>
    takeover(midUtterance(0)),
  );

  it('killed in the middle of a later utterance', { timeout: 120_000 }, () => takeover(midUtterance(1)));

  it('killed in the pause after a final', { timeout: 120_000 }, () =>
    takeover((_, seen) => seen.filter((segment) => segment.final).length === 2),
  );
});
