import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, getJson, newSid, startApi, type ApiHarness } from '../api/testing/api-harness.js';
import { seedCall, seedParties } from '../api/testing/seed.js';

const reader = { apiKey: KEYS.reader };
const AGENT = 'client:alice';
const TECHNICIAN = '+15550107788';
const DIGITS = TECHNICIAN.slice(1);

describe('the read model: parties in clear (STORE_CALLER_NUMBERS)', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(() => h.close());

  const row = async (callSid: string) =>
    (
      await h.pool.query<Record<string, unknown>>(
        `SELECT agent_party, technician_party, technician_number_last2, started_at FROM api_calls WHERE call_sid = $1`,
        [callSid],
      )
    ).rows[0];
  const detail = async (callSid: string) => {
    const res = await getJson(h.baseUrl, `/calls/${callSid}`, reader);
    expect(res.status).toBe(200);
    return (res.json as { call: { agent: string | null; technician: string | null } }).call;
  };
  const start = (callSid: string) =>
    seedCall(h, { callSid, startedAt: '2025-06-01T09:00:00Z', agent: AGENT, technician: TECHNICIAN });
  const parties = (callSid: string) =>
    seedParties(h, { callSid, at: '2025-06-01T09:00:00Z', from: AGENT, to: TECHNICIAN });

  it.each([
    ['after', [start, parties]],
    ['before', [parties, start]],
  ])('shows the clear number on the call detail when parties.v1 comes %s the start', async (_, steps) => {
    const callSid = newSid('CA');
    for (const step of steps) await step(callSid);
    expect(await row(callSid)).toMatchObject({
      agent_party: AGENT,
      technician_party: TECHNICIAN,
      technician_number_last2: '88',
      started_at: expect.any(Date),
    });
    expect(await detail(callSid)).toMatchObject({ agent: AGENT, technician: TECHNICIAN });
  });

  it('without parties.v1 (the setting off) shows the last two digits only, and keeps no clear number', async () => {
    const callSid = newSid('CA');
    await start(callSid);
    expect(await row(callSid)).toMatchObject({ agent_party: AGENT, technician_party: null });
    expect(await detail(callSid)).toMatchObject({ agent: AGENT, technician: '…88' });
    const { rows } = await h.pool.query(`SELECT * FROM api_calls WHERE call_sid = $1`, [callSid]);
    expect(JSON.stringify(rows).replace(/\D/g, '')).not.toContain(DIGITS);
    expect(h.logs().replace(/\D/g, '')).not.toContain(DIGITS);
  });
});
