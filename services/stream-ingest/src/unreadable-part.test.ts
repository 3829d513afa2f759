import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallEvent, decodeEvent } from '@calltx/events';
import { type ObjectStore } from '@calltx/storage';
import { partKey, streamPrefix, unreadablePartKey } from './spool/object-keys.js';
import { encodePart } from './spool/part-format.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { SyntheticCall } from './testing/synthetic-call.js';
import { expectExactWavs } from './testing/wav-assert.js';

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.list(prefix)) keys.push(key);
  return keys.sort();
}

describe('a part object that cannot be read', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env, { partRecoveryIntervalMs: 500 });
  });

  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  it('is set aside: the WAVs are written without it, its frames counted lost, and recovered once it reads', async () => {
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    await call.stream(0, 2_000, 5);
    // What a replica killed mid-upload leaves on a store whose PUT is not atomic: an empty object under the name
    // of a part whose frames (2.00–2.98 s of the agent) were acknowledged.
    const lost = call.framesAt(
      'inbound',
      Array.from({ length: 50 }, (_, i) => 2_000 + 20 * i),
    );
    const key = partKey(call.callSid, 'agent', 2_000, 2_980);
    await env.store.putObject(key, Buffer.alloc(0));
    await call.stream(3_000, 5_000, 5, ['inbound']);
    await call.stream(2_000, 5_000, 5, ['outbound']);
    await call.stop();
    await eventually(
      async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
      20_000,
    );

    // Written from every readable part: the agent's second 2–3 is silence.
    const files = await env.repo.files(call.callSid);
    expect(files).toHaveLength(4);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
    expect(files.find((f) => f.speaker === 'agent')?.gapFilledMs).toBe(1_000);
    const asideKey = unreadablePartKey(call.callSid, 'agent', key);
    expect(asideKey).toBe(`${streamPrefix(call.callSid)}unreadable-parts/agent/${key.split('/').at(-1)}`);
    expect((await env.store.stat(asideKey))?.size).toBe(0);
    expect(await env.store.stat(key)).toBeNull();
    expect(await ingest.metric('calltx_ingest_unreadable_part_frames_total', { speaker: 'agent' })).toBe(50);
    expect(ingest.logs.lines.find((l) => String(l.msg).startsWith('part object unreadable'))).toMatchObject({
      level: 40,
      callSid: call.callSid,
      speaker: 'agent',
      key,
      frames: 50,
    });
    expect(await env.repo.unreadableParts()).toEqual([
      { callSid: call.callSid, speaker: 'agent', partKey: key, asideKey, frames: 50 },
    ]);

    // The part becomes readable (an operator restores it): the WAVs are written again with its frames.
    await env.store.putObject(
      asideKey,
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
      20_000,
    );
    const recovered = await env.repo.files(call.callSid);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, recovered);
    expect(recovered.find((f) => f.speaker === 'agent')?.gapFilledMs).toBe(0);
    expect(await env.repo.unreadableParts()).toEqual([]);
    await eventually(async () =>
      expect(await keysUnder(env.store, streamPrefix(call.callSid))).toEqual(
        recovered.map((f) => f.key).sort(),
      ),
    );
    const announced = await env.lastCallEvent(env.subjects.call(call.callSid, 'audio-stored'));
    expect(announced?.header?.get('Nats-Msg-Id')).not.toBe(`${call.callSid}:audio-stored`);
    const event = decodeEvent(CallEvent, announced!.data);
    if (event.type !== 'call.audio-stored.v1') throw new Error(`unexpected ${event.type}`);
    expect(event.gapFilledMs).toEqual({ agent: 0, technician: 0 });
  });

  /** A call whose agent part 2.00–2.98 s is left empty (unreadable), finalized without it. */
  async function callWithUnreadablePart() {
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    await call.stream(0, 2_000, 5);
    const lost = call.framesAt(
      'inbound',
      Array.from({ length: 50 }, (_, i) => 2_000 + 20 * i),
    );
    const key = partKey(call.callSid, 'agent', 2_000, 2_980);
    await env.store.putObject(key, Buffer.alloc(0));
    await call.stream(3_000, 5_000, 5, ['inbound']);
    await call.stream(2_000, 5_000, 5, ['outbound']);
    await call.stop();
    await eventually(
      async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
      20_000,
    );
    const asideKey = unreadablePartKey(call.callSid, 'agent', key);
    const restore = () =>
      env.store.putObject(
        asideKey,
        encodePart(
          lost.map((f) => ({ timestampMs: f.timestampMs, payload: Buffer.from(f.payload, 'base64') })),
        ),
      );
    return { call, key, asideKey, restore };
  }

  it('is given up on once INGEST_PART_RECOVERY_GIVE_UP_MS has passed: counted, warned of, its aside object kept and no longer retried', async () => {
    const old = await callWithUnreadablePart();
    const recent = await callWithUnreadablePart();
    const abandonedFrames = () =>
      ingest.metric('calltx_ingest_abandoned_part_frames_total', { speaker: 'agent' });
    const recoveredFrames = () =>
      ingest.metric('calltx_ingest_recovered_part_frames_total', { speaker: 'agent' });
    const recoveredBefore = await recoveredFrames();
    expect(await abandonedFrames()).toBe(0);
    // Set aside 8 days ago: past the default bound of 7 days.
    await env.pool.query(
      `UPDATE call_unreadable_parts SET set_aside_at = now() - interval '8 days' WHERE call_sid = $1`,
      [old.call.callSid],
    );
    await eventually(async () => expect(await abandonedFrames()).toBe(50), 20_000);
    const warning = ingest.logs.lines.filter((l) =>
      String(l.msg).startsWith('set-aside part still unreadable'),
    );
    expect(warning).toEqual([
      expect.objectContaining({
        level: 40,
        callSid: old.call.callSid,
        speaker: 'agent',
        partKey: old.key,
        asideKey: old.asideKey,
        frames: 50,
      }),
    ]);
    expect(Object.keys(warning[0]!).sort()).toEqual(
      ['asideKey', 'callSid', 'frames', 'level', 'msg', 'partKey', 'service', 'speaker', 'time'].sort(),
    );
    expect((await env.repo.unreadableParts()).map((p) => p.callSid)).toEqual([recent.call.callSid]);
    // Kept for an operator: the aside object, and the call's row of it (still not recovered).
    expect((await env.store.stat(old.asideKey))?.size).toBe(0);
    expect(await env.repo.unreadableParts(old.call.callSid)).toHaveLength(1);

    // Both become readable: the sweep recovers the recent one and leaves the one it gave up on alone.
    await old.restore();
    await recent.restore();
    await eventually(async () => expect(await recoveredFrames()).toBe(recoveredBefore + 50), 20_000);
    expect(await env.repo.unreadableParts()).toEqual([]);
    expect(await env.repo.unreadableParts(old.call.callSid)).toHaveLength(1);
    expect(await env.store.stat(old.key)).toBeNull();
    expect(await abandonedFrames()).toBe(50);
  });
});
