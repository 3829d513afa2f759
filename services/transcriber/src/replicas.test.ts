import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concat, phrase } from './testing/audio.js';
import { eventually, sid, startStack, type TranscriberStack } from './testing/harness.js';
import { spawnTranscriber, stopProcess, type TranscriberProcess } from './testing/process.js';

let stack: TranscriberStack;
const replicas: TranscriberProcess[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await Promise.all(replicas.map((replica) => stopProcess(replica)));
  await stack?.close();
});

/** Replicas acknowledge quickly when alive; a dead one's segments come back after this. */
const ACK_WAIT_MS = '2000';
/** ~9 s of speech: long enough that a replica is still transcribing when it is killed. */
const UTTERANCE = concat(phrase(1), phrase(2), phrase(3));

async function finalsOf(callSid: string) {
  return (await stack.transcripts()).filter((m) => m.json.callSid === callSid && m.json.final === true);
}

describe('replicas', () => {
  it('share the consumers, and a replica killed mid-segment leaves its finals to the other, each final stored once', async () => {
    for (let i = 0; i < 2; i++) {
      const replica = await spawnTranscriber({ ...stack.env, TRANSCRIBER_ACK_WAIT_MS: ACK_WAIT_MS });
      await replica.logged((l) => l.msg === 'consuming');
      replicas.push(replica);
    }
    const [a, b] = replicas as [TranscriberProcess, TranscriberProcess];

    // Both take work from the shared consumers.
    const shared = sid('CA');
    for (let sequence = 0; sequence < 8; sequence++) {
      await stack.publishSegment({
        callSid: shared,
        speaker: sequence % 2 ? 'agent' : 'technician',
        segmentId: `${shared}:${sequence % 2 ? 'agent' : 'technician'}:0:${sequence >> 1}`,
        sequence: sequence >> 1,
        final: true,
        startMs: sequence * 10_000,
        pcm: UTTERANCE,
      });
    }
    await eventually(async () => expect(await finalsOf(shared)).toHaveLength(8), 60_000);
    const published = (replica: TranscriberProcess) =>
      replica.logs.filter((l) => l.msg === 'final published' && l.callSid === shared).length;
    expect(published(a)).toBeGreaterThan(0);
    expect(published(b)).toBeGreaterThan(0);
    // At least once: on a loaded machine a heartbeat can come after the ack wait, JetStream redelivers, and the
    // other replica publishes the same final again; its Nats-Msg-Id keeps it out of the stream (checked below).
    expect(published(a) + published(b)).toBeGreaterThanOrEqual(8);

    // A is killed while transcribing: what it held comes back to B after the ack wait.
    const victim = sid('CA');
    const segmentIds = [0, 1, 2, 3].map((sequence) => `${victim}:agent:0:${sequence}`);
    const transcribing = a.logged((l) => l.msg === 'transcribing' && l.callSid === victim);
    for (const [sequence, segmentId] of segmentIds.entries()) {
      await stack.publishSegment({
        callSid: victim,
        speaker: 'agent',
        segmentId,
        sequence,
        final: true,
        startMs: sequence * 10_000,
        pcm: UTTERANCE,
      });
    }
    await transcribing;
    a.child.kill('SIGKILL');
    await a.exited;

    const finals = await eventually(async () => {
      const found = await finalsOf(victim);
      expect(found.map((m) => m.json.segmentId).sort()).toEqual(segmentIds);
      return found;
    }, 60_000);
    expect(finals).toHaveLength(4);
    expect(finals.every((m) => m.msgId === `${m.json.segmentId as string}:final`)).toBe(true);
    const { rows } = await stack.pool.query<{ segment_id: string; n: number }>(
      'SELECT segment_id, count(*)::int AS n FROM transcript_segments WHERE call_sid = $1 GROUP BY segment_id ORDER BY segment_id',
      [victim],
    );
    expect(rows).toEqual(segmentIds.map((segment_id) => ({ segment_id, n: 1 })));
    // The shared call's finals, however often published, are each in the stream once.
    const sharedFinals = await finalsOf(shared);
    expect(new Set(sharedFinals.map((m) => m.json.segmentId)).size).toBe(8);
    expect(sharedFinals).toHaveLength(8);
    // B received at least one of them a second time: the segment A was transcribing when it died.
    expect(b.logs.some((l) => l.msg === 'redelivered message' && (l.attempt as number) >= 2)).toBe(true);

    // SIGTERM: B finishes and exits cleanly.
    await stopProcess(b);
    expect(await b.exited).toBe(0);
    expect(b.logs.some((l) => l.msg === 'shutdown complete')).toBe(true);
  });
});
