import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, getJson, newSid, startApi, type ApiHarness } from '../api/testing/api-harness.js';
import { seedCall, seedParties, seedRecording, seedSegment, seedStreamFile } from '../api/testing/seed.js';
import { rebuildReadModel } from './rebuild.js';

const reader = { apiKey: KEYS.reader };

/** What the API answers, without the presigned URLs' signatures and expiry (they change with every request). */
async function answers(h: ApiHarness, callSids: readonly string[]): Promise<unknown> {
  const unsigned = (json: unknown) =>
    JSON.parse(
      JSON.stringify(json, (key, value: unknown) =>
        key === 'url' && typeof value === 'string'
          ? new URL(value).pathname
          : key === 'urlExpiresAt'
            ? 'expiry'
            : value,
      ),
    ) as unknown;
  const list = await getJson(h.baseUrl, '/calls?limit=100', reader);
  const details = await Promise.all(callSids.map((sid) => getJson(h.baseUrl, `/calls/${sid}`, reader)));
  return unsigned({
    list: [list.status, list.json],
    details: details.map((d) => [d.status, d.json]),
  });
}

describe('the read model', () => {
  let h: ApiHarness;
  const calls = [newSid('CA'), newSid('CA'), newSid('CA')];
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(() => h.close());

  it('answers the same after it is dropped and rebuilt from the streams, the service running', async () => {
    const [stored, failed, live] = calls as [string, string, string];
    await seedCall(h, {
      callSid: stored,
      startedAt: '2025-05-01T09:00:00.000001Z',
      endedAt: '2025-05-01T09:02:00Z',
      status: 'completed',
      technician: '+15550107777',
      durationMs: 120_000,
      streamStoppedAt: '2025-05-01T09:01:59Z',
    });
    await seedCall(h, {
      callSid: failed,
      startedAt: '2025-05-01T10:00:00Z',
      endedAt: '2025-05-01T10:00:30Z',
    });
    await seedCall(h, { callSid: live, startedAt: '2025-05-01T11:00:00Z' });
    // Where the gateway keeps numbers in clear (STORE_CALLER_NUMBERS), the internal parties are replayed too.
    await seedParties(h, {
      callSid: live,
      at: '2025-05-01T11:00:00Z',
      from: 'client:alice',
      to: '+15550109999',
    });
    const recordingSid = newSid('RE');
    await seedRecording(h, { recordingSid, callSid: stored, status: 'in-progress' });
    await seedRecording(h, { recordingSid, callSid: stored, status: 'completed', durationMs: 120_000 });
    await seedRecording(h, {
      recordingSid,
      callSid: stored,
      status: 'stored',
      durationMs: 120_000,
      objects: ['dual', 'agent', 'technician'].map((role, i) => ({
        role,
        channel: i === 0 ? null : (i as 1 | 2),
        key: `calls/${stored}/recordings/${recordingSid}/${role}.wav`,
        bytes: 1000 + i,
        durationMs: 120_000,
      })),
    });
    await seedRecording(h, {
      recordingSid: newSid('RE'),
      callSid: failed,
      status: 'failed',
      error: { source: 'fetcher', code: 'too-large', message: 'larger than RECORDING_MAX_BYTES' },
    });
    await seedRecording(h, {
      recordingSid: newSid('RE'),
      callSid: failed,
      status: 'absent',
      error: { source: 'twilio', code: '13617' },
    });
    await seedStreamFile(h, {
      callSid: stored,
      speaker: 'technician',
      key: `calls/${stored}/stream/technician-8000.wav`,
      bytes: 2000,
      durationMs: 120_000,
    });
    for (const [sequence, source] of (['live', 'live', 'recording'] as const).entries()) {
      await seedSegment(h, {
        callSid: stored,
        speaker: sequence % 2 ? 'technician' : 'agent',
        source,
        sequence,
        startMs: sequence * 1_000,
        text: `utterance ${sequence}`,
      });
    }
    // A redelivered final with other text changes nothing: the first stored text wins.
    await seedSegment(h, {
      callSid: stored,
      speaker: 'agent',
      source: 'live',
      sequence: 0,
      startMs: 0,
      text: 'another text',
    });

    const before = await answers(h, calls);
    expect(before).toMatchObject({
      list: [200, { calls: [{ callSid: live }, { callSid: failed }, { callSid: stored }] }],
      details: [
        [
          200,
          {
            call: { durationMs: 120_000, recordingStatus: 'stored' },
            transcript: {
              segments: [{ text: 'utterance 0' }, { text: 'utterance 1' }, { text: 'utterance 2' }],
            },
            recordings: [
              { status: 'stored', files: [{ role: 'dual' }, { role: 'agent' }, { role: 'technician' }] },
            ],
            // The latest audio-stored announcement wins.
            streamAudio: [{ speaker: 'technician' }],
          },
        ],
        [200, { recordings: [{ status: 'failed' }, { status: 'absent' }] }],
        [200, { call: { state: 'live', technician: '+15550109999' } }],
      ],
    });

    const auditIds = async () =>
      (
        await h.pool.query<{ row: string }>(
          "SELECT concat_ws(' ', id, at, action, call_sid) AS row FROM api_audit ORDER BY id",
        )
      ).rows.map((r) => r.row);
    const audited = await auditIds();
    expect(audited.length).toBeGreaterThan(0);

    await h.pool.query('DROP TABLE api_calls, api_recordings, api_transcript_segments');
    expect((await getJson(h.baseUrl, '/calls', reader)).status).toBe(503);

    // While the service runs: its consumers go on applying new events.
    await rebuildReadModel({ nc: h.nc, jsm: h.jsm, subjects: h.subjects, pool: h.pool, logger: h.logger });
    expect(await answers(h, calls)).toEqual(before);

    // The audit trail is not derived from events: a rebuild keeps it, append-only as before.
    expect((await auditIds()).slice(0, audited.length)).toEqual(audited);
    await expect(h.pool.query('DELETE FROM api_audit')).rejects.toThrow(/append-only/);

    // Late and repeated events change nothing: a stored recording stays stored.
    await seedRecording(h, { recordingSid, callSid: stored, status: 'in-progress' });
    await seedRecording(h, { recordingSid, callSid: stored, status: 'completed', durationMs: 1_000 });
    await seedRecording(h, {
      recordingSid,
      callSid: stored,
      status: 'absent',
      error: { source: 'twilio', code: '1' },
    });
    expect(await answers(h, calls)).toEqual(before);

    // The service still follows the streams.
    const next = newSid('CA');
    await seedCall(h, { callSid: next, startedAt: '2025-05-01T12:00:00Z' });
    expect((await getJson(h.baseUrl, `/calls/${next}`, reader)).status).toBe(200);
  });
});
