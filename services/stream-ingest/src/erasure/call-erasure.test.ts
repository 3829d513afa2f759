import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CalltxError } from '@calltx/events';
import { partKey, streamPrefix, unreadablePartKey, wavKey } from '../spool/object-keys.js';
import { createTestEnvironment, type TestEnvironment } from '../testing/environment.js';
import { CallErasure } from './call-erasure.js';

let env: TestEnvironment;
beforeAll(async () => {
  env = await createTestEnvironment();
});
afterAll(() => env?.close());

const sid = () => `CA${randomBytes(16).toString('hex')}`;

/** A call as stream-ingest leaves it: WAVs, a spooled part, an unreadable part set aside, and its rows. */
async function storedCall(state: 'active' | 'finalized'): Promise<string> {
  const callSid = sid();
  const part = partKey(callSid, 'agent', 0, 1_000);
  const keys = [
    wavKey(callSid, 'agent', 8000),
    wavKey(callSid, 'agent', 16000),
    part,
    unreadablePartKey(callSid, 'agent', part),
  ];
  for (const key of keys) await env.store.putObject(key, Buffer.from('x'));
  await env.pool.query(`INSERT INTO calls (call_sid, ingest_state) VALUES ($1, $2)`, [callSid, state]);
  await env.pool.query(
    `INSERT INTO call_stream_files (call_sid, speaker, sample_rate, object_key, bytes, duration_ms, sha256, gap_filled_ms, frames)
     VALUES ($1, 'agent', 8000, $2, 1, 1, $3, 0, 1)`,
    [callSid, keys[0], '0'.repeat(64)],
  );
  await env.pool.query(
    `INSERT INTO call_live_progress (call_sid, speaker, final_sequence, final_end_ms) VALUES ($1, 'agent', 1, 1)`,
    [callSid],
  );
  await env.pool.query(
    `INSERT INTO call_live_finals (call_sid, speaker, sequence, start_ms, end_ms, path_start_ms) VALUES ($1, 'agent', 1, 0, 1, 0)`,
    [callSid],
  );
  await env.pool.query(
    `INSERT INTO call_live_finals_audits (call_sid, due_at, give_up_at) VALUES ($1, now(), now())`,
    [callSid],
  );
  await env.pool.query(
    `INSERT INTO call_unreadable_parts (call_sid, part_key, speaker, aside_key, frames) VALUES ($1, $2, 'agent', $3, 1)`,
    [callSid, part, keys[3]],
  );
  return callSid;
}

const objects = async (callSid: string) => {
  const keys: string[] = [];
  for await (const object of env.store.list(streamPrefix(callSid))) keys.push(object.key);
  return keys;
};
const rows = async (callSid: string) => {
  let n = 0;
  const tables = [
    'calls',
    'call_stream_files',
    'call_live_progress',
    'call_live_finals',
    'call_live_finals_audits',
    'call_unreadable_parts',
  ];
  for (const table of tables)
    n += (await env.pool.query(`SELECT 1 FROM ${table} WHERE call_sid = $1`, [callSid])).rowCount ?? 0;
  return n;
};

describe("stream-ingest's erasure", () => {
  it('deletes WAVs, spooled and unreadable parts and every row of the call, keeps a tombstone, touches no other call', async () => {
    const [callSid, other] = [await storedCall('finalized'), await storedCall('finalized')];
    const erasure = new CallErasure(env.pool, env.repo, env.store);
    expect(await objects(callSid)).toHaveLength(4);
    expect(await rows(callSid)).toBe(6);
    await erasure.erase(callSid);
    expect(await objects(callSid)).toEqual([]);
    expect(await rows(callSid)).toBe(0);
    expect(await erasure.isErased(callSid)).toBe(true);
    // Again (a redelivery): nothing left to do, no error.
    await erasure.erase(callSid);
    expect(await objects(other)).toHaveLength(4);
    expect(await rows(other)).toBe(6);
    expect(await erasure.isErased(other)).toBe(false);
  });

  it('waits while the call is still being stored, then erases it', async () => {
    const callSid = await storedCall('active');
    const erasure = new CallErasure(env.pool, env.repo, env.store);
    const deferred = await erasure.erase(callSid).catch((error: unknown) => error);
    expect(deferred).toBeInstanceOf(CalltxError);
    expect((deferred as CalltxError).retryable).toBe(true);
    expect(await objects(callSid)).toHaveLength(4);
    await env.pool.query(`UPDATE calls SET ingest_state = 'finalized' WHERE call_sid = $1`, [callSid]);
    await erasure.erase(callSid);
    expect(await objects(callSid)).toEqual([]);
    expect(await rows(callSid)).toBe(0);
  });
});
