import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, storedEvents } from '@calltx/devstack';
import { ERASURE_SERVICES, type Family } from '@calltx/events';
import { internalEvents } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';
import { hashApiKey } from '../api/auth/credentials.js';
import { getJson, KEYS, newSid, startApi, type ApiHarness } from '../api/testing/api-harness.js';
import { seedCall, seedRecording, seedSegment, seedStreamFile } from '../api/testing/seed.js';
import { ErasureCoordinator } from './coordinator.js';
import { ErasureSweeper } from './sweeper.js';

const ERASER = 'ctx_test_eraser_key_0123456789abcdef';
const FAMILIES: Family[] = ['calls', 'recordings', 'transcripts', 'deadletter'];

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi({
    env: {
      API_KEYS: `reader:${hashApiKey(KEYS.reader)},eraser:${hashApiKey(ERASER)}:calls:read calls:delete`,
      // The tests run sweeps themselves.
      ERASURE_SWEEP_INTERVAL_SECONDS: '86400',
    },
  });
});
afterAll(() => h?.close());

const erase = (callSid: string, apiKey = ERASER) =>
  getJson(h.baseUrl, `/calls/${callSid}`, { apiKey }, { method: 'DELETE' });

const count = async (sql: string, params: unknown[]) =>
  Number((await h.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);

/** Read-model rows and stream messages of the call. */
async function leftOf(callSid: string): Promise<number> {
  let left = 0;
  for (const table of ['api_calls', 'api_call_stream_files', 'api_recordings', 'api_transcript_segments'])
    left += await count(`${table} WHERE call_sid = $1`, [callSid]);
  left += await count(
    `api_recording_objects WHERE recording_sid IN (SELECT recording_sid FROM api_recordings WHERE call_sid = $1)`,
    [callSid],
  );
  for (const family of FAMILIES) {
    const info = await h.jsm.streams.info(h.subjects.streamName(family), { subjects_filter: '>' });
    for (const [subject, n] of Object.entries(info.state.subjects ?? {}))
      if (subject.startsWith(h.subjects.all(family, callSid).slice(0, -1)) && !subject.endsWith('.erased'))
        left += n;
  }
  return left;
}

async function endedCall(): Promise<string> {
  const callSid = newSid('CA');
  const startedAt = new Date(Date.now() - 60_000).toISOString();
  await seedCall(h, { callSid, startedAt, endedAt: new Date().toISOString(), status: 'completed' });
  await seedSegment(h, { callSid, speaker: 'agent', source: 'live', sequence: 0, startMs: 0, text: 'hello' });
  await seedRecording(h, {
    recordingSid: newSid('RE'),
    callSid,
    status: 'stored',
    objects: [
      {
        role: 'dual',
        channel: null,
        key: `calls/${callSid}/recordings/x/dual.wav`,
        bytes: 44,
        durationMs: 1,
      },
    ],
  });
  await seedStreamFile(h, {
    callSid,
    speaker: 'agent',
    key: `calls/${callSid}/stream/agent-8000.wav`,
    bytes: 44,
    durationMs: 1,
  });
  return callSid;
}

const requests = async (callSid: string) =>
  storedEvents(h.js, h.subjects.streamName('erasure'), h.subjects.erasureRequested(callSid));

const confirm = (callSid: string, service: (typeof ERASURE_SERVICES)[number]) =>
  publishEvent(
    h.js,
    h.subjects.erasureDone(callSid, service),
    internalEvents.erasureDone({ callSid, service, at: new Date().toISOString() }),
    `${callSid}-${service}-${Date.now()}`,
  );

describe('DELETE /calls/{callSid}', () => {
  it('refuses a malformed sid, an unknown call, a live call and a credential without calls:delete', async () => {
    expect((await erase('CA123')).status).toBe(400);
    expect((await erase(newSid('CA'))).status).toBe(404);
    const live = newSid('CA');
    await seedCall(h, { callSid: live, startedAt: new Date().toISOString() });
    expect(await erase(live)).toMatchObject({ status: 409, json: { error: { code: 'conflict' } } });
    expect((await erase(live, KEYS.reader)).status).toBe(403);
    expect(await count('api_erasures WHERE call_sid = $1', [live])).toBe(0);
    const { rows } = await h.pool.query<{ result: string; status: number }>(
      `SELECT result, status FROM api_audit WHERE call_sid = $1 AND action = 'call.erase' ORDER BY id`,
      [live],
    );
    expect(rows).toEqual([
      { result: 'invalid', status: 409 },
      { result: 'denied', status: 403 },
    ]);
  });

  it('asks every service, and once all confirmed purges the streams, forgets the call and announces it once', async () => {
    const [callSid, other] = [await endedCall(), await endedCall()];
    const otherBefore = await leftOf(other);
    expect(await leftOf(callSid)).toBeGreaterThan(5);

    const first = await erase(callSid);
    expect(first).toMatchObject({ status: 202, json: { callSid, state: 'requested' } });
    expect(await requests(callSid)).toHaveLength(1);
    // A second DELETE while unfinished asks again.
    expect(await erase(callSid)).toMatchObject({ status: 202, json: { state: 'requested' } });
    expect(await requests(callSid)).toHaveLength(2);

    await confirm(callSid, 'stream-ingest');
    await confirm(callSid, 'transcriber');
    await confirm(callSid, 'transcriber');
    await eventually(async () =>
      expect(
        (await h.pool.query('SELECT confirmed FROM api_erasures WHERE call_sid = $1', [callSid])).rows[0],
      ).toEqual({
        confirmed: ['stream-ingest', 'transcriber'],
      }),
    );
    expect(await leftOf(callSid)).toBeGreaterThan(5);
    await confirm(callSid, 'recording-fetcher');
    await eventually(async () =>
      expect(await count(`api_erasures WHERE call_sid = $1 AND state = 'erased'`, [callSid])).toBe(1),
    );
    expect(await leftOf(callSid)).toBe(0);
    expect(await leftOf(other)).toBe(otherBefore);
    const erased = await storedEvents(
      h.js,
      h.subjects.streamName('calls'),
      h.subjects.call(callSid, 'erased'),
    );
    expect(erased).toEqual([{ type: 'call.erased.v1', callSid, at: expect.any(String) }]);

    // A late confirmation and a late event change nothing; a third DELETE says it is done.
    await confirm(callSid, 'recording-fetcher');
    await seedSegment(h, {
      callSid,
      speaker: 'agent',
      source: 'live',
      sequence: 1,
      startMs: 5,
      text: 'late',
    });
    expect(await count('api_transcript_segments WHERE call_sid = $1', [callSid])).toBe(0);
    expect(await erase(callSid)).toMatchObject({ status: 202, json: { state: 'erased' } });
    expect(await requests(callSid)).toHaveLength(2);
    expect(
      await storedEvents(h.js, h.subjects.streamName('calls'), h.subjects.call(callSid, 'erased')),
    ).toHaveLength(1);
    expect(
      await count(`api_audit WHERE call_sid = $1 AND action = 'call.erase' AND status = 202`, [callSid]),
    ).toBe(3);
  });
});

describe('the erasure sweeper', () => {
  const sweeper = (retentionDays: number, resumeAfterSeconds = 3600) =>
    new ErasureSweeper(
      new ErasureCoordinator({ pool: h.pool, js: h.js, jsm: h.jsm, subjects: h.subjects, logger: h.logger }),
      { retentionDays, resumeAfterSeconds, intervalMs: 86_400_000 },
      h.logger,
    );

  it('asks again for an unfinished erasure once, however many replicas sweep at once', async () => {
    const callSid = await endedCall();
    expect((await erase(callSid)).status).toBe(202);
    await h.pool.query(
      `UPDATE api_erasures SET updated_at = now() - interval '2 hours' WHERE call_sid = $1`,
      [callSid],
    );
    const rounds = await Promise.all([1, 2, 3, 4].map(() => sweeper(0).sweep()));
    expect(rounds.flatMap((r) => r.resumed).filter((sid) => sid === callSid)).toEqual([callSid]);
    expect(await requests(callSid)).toHaveLength(2);
    // Claimed: not asked again before the next interval.
    expect((await sweeper(0).sweep()).resumed).not.toContain(callSid);
  });

  it('erases, once across replicas, calls that ended more than RETENTION_DAYS ago, none younger or downloading', async () => {
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const [old, young, downloading] = [newSid('CA'), newSid('CA'), newSid('CA')];
    await seedCall(h, { callSid: old, startedAt: daysAgo(31), endedAt: daysAgo(31), status: 'completed' });
    await seedCall(h, { callSid: young, startedAt: daysAgo(29), endedAt: daysAgo(29), status: 'completed' });
    await seedCall(h, {
      callSid: downloading,
      startedAt: daysAgo(40),
      endedAt: daysAgo(40),
      status: 'completed',
    });
    await seedRecording(h, { recordingSid: newSid('RE'), callSid: downloading, status: 'completed' });
    const rounds = await Promise.all([1, 2, 3].map(() => sweeper(30).sweep()));
    const expired = rounds.flatMap((r) => r.expired);
    expect(expired.filter((sid) => sid === old)).toEqual([old]);
    expect(expired).not.toContain(young);
    expect(expired).not.toContain(downloading);
    expect(await requests(old)).toHaveLength(1);
    expect(
      await h.pool.query('SELECT actor, state FROM api_erasures WHERE call_sid = $1', [old]),
    ).toMatchObject({
      rows: [{ actor: 'retention', state: 'requested' }],
    });
    for (const service of ERASURE_SERVICES) await confirm(old, service);
    await eventually(async () =>
      expect(await count(`api_erasures WHERE call_sid = $1 AND state = 'erased'`, [old])).toBe(1),
    );
    expect(await leftOf(old)).toBe(0);
    expect(await count('api_calls WHERE call_sid = ANY($1)', [[young, downloading]])).toBe(2);
  });
});
