import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@calltx/db';
import { pgbouncerForTests, type PgBouncerForTests } from '@calltx/devstack';
import { createTestEnvironment, type TestEnvironment } from '../testing/environment.js';
import { LiveFinalsAudits } from './live-finals-audits.js';

let env: TestEnvironment;
let bouncer: PgBouncerForTests;
const pools: Pool[] = [];

beforeAll(async () => {
  env = await createTestEnvironment();
  // One server connection for both replicas' pools: their statements share it, as behind a transaction pooler.
  bouncer = await pgbouncerForTests({ databaseUrl: env.pg.baseUrl, schema: env.pg.schema, poolSize: 1 });
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await bouncer?.stop();
  await env?.close();
});

const sid = () => `CA${randomBytes(16).toString('hex')}`;

async function dueAudits(n: number): Promise<string[]> {
  const callSids = Array.from({ length: n }, sid);
  for (const callSid of callSids) {
    await env.pool.query(`INSERT INTO calls (call_sid, ingest_state) VALUES ($1, 'finalized')`, [callSid]);
    await env.pool.query(
      `INSERT INTO call_live_finals_audits (call_sid, due_at, give_up_at) VALUES ($1, now(), now() + interval '1 hour')`,
      [callSid],
    );
  }
  return callSids;
}

function replica(name: string, leaseMs: number): LiveFinalsAudits {
  const pool = createPool(bouncer.url, { max: 3 });
  pools.push(pool);
  return new LiveFinalsAudits(pool, name, leaseMs);
}

describe('live-finals audit leases, behind PgBouncer in transaction mode', () => {
  it('hands each due audit to one of two replicas claiming at once, and again once its lease lapses', async () => {
    const callSids = await dueAudits(24);
    const [a, b] = [replica('a', 1_500), replica('b', 1_500)];
    const claimed = new Map<string, string[]>();
    const claimAll = async (name: string, audits: LiveFinalsAudits) => {
      for (;;) {
        const batch = await audits.claimDue(3);
        if (batch.length === 0) return;
        for (const audit of batch) claimed.set(audit.callSid, [...(claimed.get(audit.callSid) ?? []), name]);
      }
    };
    await Promise.all([claimAll('a', a), claimAll('b', b), claimAll('a', a), claimAll('b', b)]);
    const ours = callSids.map((callSid) => claimed.get(callSid) ?? []);
    expect(ours.every((holders) => holders.length === 1)).toBe(true);
    expect(new Set(ours.flat())).toEqual(new Set(['a', 'b']));

    // Held: nobody else takes them, and the holder's renewal holds; once lapsed, another replica does.
    expect(await b.claimDue(100)).toEqual([]);
    const [first] = callSids;
    const holder = claimed.get(first!)![0] === 'a' ? a : b;
    const other = holder === a ? b : a;
    expect(await holder.renew(first!)).toBe(true);
    expect(await other.renew(first!)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    const retaken = (await other.claimDue(100)).filter((audit) => callSids.includes(audit.callSid));
    expect(retaken).toHaveLength(24);
    expect(retaken.every((audit) => audit.attempt === 2)).toBe(true);
    expect(await holder.renew(first!)).toBe(false);
  }, 60_000);
});
