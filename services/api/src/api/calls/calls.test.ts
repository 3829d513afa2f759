import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseProblems } from '../testing/openapi.js';
import { KEYS, getJson, newSid, startApi, type ApiHarness } from '../testing/api-harness.js';
import { seedCall, seedRecording, seedSegment, seedStreamFile } from '../testing/seed.js';

interface CallJson {
  callSid: string;
  startedAt: string;
  state: string;
  technician: string | null;
  durationMs: number | null;
  recordingStatus: string;
}
interface CallPage {
  calls: CallJson[];
  nextCursor: string | null;
}

const reader = { apiKey: KEYS.reader };

describe('GET /calls and /calls/{callSid}', () => {
  let h: ApiHarness;
  /** Seeded calls, newest first (the order the API must return them in). */
  const seeded: string[] = [];

  const list = async (query: string) => {
    const r = await getJson(h.baseUrl, `/calls${query}`, reader);
    expect(responseProblems('GET', '/calls', r.status, r.json)).toEqual([]);
    return r;
  };

  beforeAll(async () => {
    h = await startApi();
    // Seven calls over three days; two start in the same microsecond, two one microsecond apart.
    const starts = [
      '2025-03-03T09:00:00.000002Z',
      '2025-03-03T09:00:00.000001Z',
      '2025-03-02T15:30:00Z',
      '2025-03-02T15:30:00Z',
      '2025-03-02T08:00:00Z',
      '2025-03-01T12:00:00Z',
      '2025-03-01T07:00:00Z',
    ];
    const calls = starts.map((startedAt, i) => ({ callSid: newSid('CA'), startedAt, i }));
    // Same start: the larger CallSid comes first.
    calls.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.callSid.localeCompare(a.callSid));
    for (const { callSid, startedAt, i } of calls) {
      await seedCall(h, {
        callSid,
        startedAt,
        technician: `+1 (555) 010-00${String(i).padStart(2, '0')}`,
        ...(i === 0
          ? {}
          : { endedAt: new Date(Date.parse(startedAt) + 90_000).toISOString(), status: 'completed' }),
        ...(i === 2 ? { durationMs: 61_234 } : {}),
      });
      seeded.push(callSid);
    }
  });
  afterAll(() => h.close());

  it('pages through every call newest first, without repeats or gaps, ties broken by CallSid', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await list(`?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status).toBe(200);
      const page = r.json as CallPage;
      expect(page.calls.length).toBeLessThanOrEqual(3);
      seen.push(...page.calls.map((c) => c.callSid));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual(seeded);
    expect(pages).toBe(3);
  });

  it('describes each call: state, duration (stored audio, else start to end) and recording status', async () => {
    const { calls } = (await list('?limit=100')).json as CallPage;
    const live = calls.find((c) => c.state === 'live')!;
    expect(live.durationMs).toBeNull();
    // Published as a keyed hash: the API knows the last two digits only.
    expect(live.technician).toBe('…00');
    expect(calls.filter((c) => c.state === 'ended')).toHaveLength(6);
    expect(calls.find((c) => c.technician === '…02')!.durationMs).toBe(61_234);
    expect(calls.find((c) => c.technician === '…03')!.durationMs).toBe(90_000);
    expect(new Set(calls.map((c) => c.recordingStatus))).toEqual(new Set(['none']));
  });

  it('filters by digits of the number, by start time and by state', async () => {
    const byNumber = async (number: string) =>
      ((await list(`?number=${encodeURIComponent(number)}`)).json as CallPage).calls.map((c) => c.technician);
    // A whole number is found through its keyed hash, however it is written.
    expect(await byNumber('+1 (555) 010-0004')).toEqual(['…04']);
    expect(await byNumber('15550100004')).toEqual(['…04']);
    // Part of a number: its last two digits only; seven digits or more are taken for a whole number.
    expect(await byNumber('0004')).toEqual(['…04']);
    expect(await byNumber('010-0004')).toEqual([]);
    const byDay = (await list('?from=2025-03-02T00:00:00Z&to=2025-03-03T00:00:00Z')).json as CallPage;
    expect(byDay.calls.map((c) => c.callSid)).toEqual(seeded.slice(2, 5));
    const fromLocal = (await list(`?from=${encodeURIComponent('2025-03-03T10:00:00.000002+01:00')}`))
      .json as CallPage;
    expect(fromLocal.calls.map((c) => c.callSid)).toEqual(seeded.slice(0, 1));
    const live = (await list('?state=live')).json as CallPage;
    expect(live.calls.map((c) => c.state)).toEqual(['live']);
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=101', 'limit'],
    ['?cursor=bm90LWEtY3Vyc29y', 'cursor is not valid'],
    ['?number=a1', 'number: must contain at least 2 digits'],
    ['?from=yesterday', 'from'],
    ['?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z', 'from must be before to'],
    ['?state=ringing', 'state'],
  ])('refuses %s with 400', async (query, message) => {
    const r = await list(query);
    expect(r.status).toBe(400);
    expect((r.json as { error: { message: string } }).error.message).toContain(message);
  });

  it('returns one call with its transcript, every recording outcome and working presigned audio URLs', async () => {
    const callSid = seeded[1]!;
    const stored = newSid('RE');
    const failed = newSid('RE');
    const absent = newSid('RE');
    const wav = Buffer.from('RIFF....WAVEfmt fake audio for the test');
    const objects = ['dual', 'agent', 'technician'].map((role, i) => ({
      role,
      channel: i === 0 ? null : (i as 1 | 2),
      key: `calls/${callSid}/recordings/${stored}/${role}.wav`,
      bytes: wav.length,
      durationMs: 90_000,
    }));
    for (const o of objects) await h.objectStore.putObject(o.key, wav, { contentType: 'audio/wav' });
    await seedRecording(h, {
      recordingSid: failed,
      callSid,
      status: 'failed',
      error: { source: 'fetcher', code: 'download-failed', message: 'HTTP 500 from Twilio' },
    });
    await seedRecording(h, {
      recordingSid: absent,
      callSid,
      status: 'absent',
      error: { source: 'twilio', code: '13617' },
    });
    await seedRecording(h, {
      recordingSid: stored,
      callSid,
      status: 'stored',
      durationMs: 90_000,
      objects,
    });
    await seedStreamFile(h, {
      callSid,
      speaker: 'agent',
      key: `calls/${callSid}/stream/agent-8000.wav`,
      bytes: 1000,
      durationMs: 89_000,
    });
    await seedSegment(h, {
      callSid,
      speaker: 'technician',
      source: 'live',
      sequence: 0,
      startMs: 2_000,
      text: 'the pump leaks',
    });
    await seedSegment(h, {
      callSid,
      speaker: 'agent',
      source: 'live',
      sequence: 0,
      startMs: 0,
      text: 'hello',
    });
    await seedSegment(h, {
      callSid,
      speaker: 'agent',
      source: 'recording',
      sequence: 0,
      startMs: 0,
      text: 'Hello.',
    });

    const r = await getJson(h.baseUrl, `/calls/${callSid}`, reader);
    expect(r.status).toBe(200);
    expect(responseProblems('GET', '/calls/{callSid}', 200, r.json)).toEqual([]);
    const detail = r.json as {
      call: CallJson;
      transcript: { segments: Array<{ speaker: string; source: string; text: string }> };
      recordings: Array<{
        recordingSid: string;
        status: string;
        error: unknown;
        files: Array<{ role: string; url: string }>;
      }>;
      streamAudio: Array<{ speaker: string; url: string }>;
    };
    expect(detail.call.callSid).toBe(callSid);
    expect(detail.call.recordingStatus).toBe('stored');
    expect(detail.transcript.segments.map((s) => `${s.source}:${s.speaker}:${s.text}`)).toEqual([
      'live:agent:hello',
      'live:technician:the pump leaks',
      'recording:agent:Hello.',
    ]);
    expect(detail.recordings.map((x) => [x.recordingSid, x.status])).toEqual(
      expect.arrayContaining([
        [stored, 'stored'],
        [failed, 'failed'],
        [absent, 'absent'],
      ]),
    );
    const failedJson = detail.recordings.find((x) => x.status === 'failed')!;
    expect(failedJson.error).toEqual({
      source: 'fetcher',
      code: 'download-failed',
      message: 'HTTP 500 from Twilio',
    });
    expect(failedJson.files).toEqual([]);
    const storedJson = detail.recordings.find((x) => x.status === 'stored')!;
    expect(storedJson.files.map((f) => f.role)).toEqual(['dual', 'agent', 'technician']);
    for (const file of storedJson.files) {
      const audio = await fetch(file.url);
      expect(audio.status).toBe(200);
      expect(Buffer.from(await audio.arrayBuffer())).toEqual(wav);
    }
    expect(detail.streamAudio.map((s) => s.speaker)).toEqual(['agent']);
    expect(new URL(detail.streamAudio[0]!.url).pathname).toContain('agent-8000.wav');
  });

  it('answers 404 for an unknown call and 400 for something that is not a CallSid', async () => {
    const missing = await getJson(h.baseUrl, `/calls/${newSid('CA')}`, reader);
    expect(missing.status).toBe(404);
    expect(responseProblems('GET', '/calls/{callSid}', 404, missing.json)).toEqual([]);
    const malformed = await getJson(h.baseUrl, '/calls/CA123', reader);
    expect(malformed.status).toBe(400);
    expect(responseProblems('GET', '/calls/{callSid}', 400, malformed.json)).toEqual([]);
  });

  it('answers 400, not 503, for filters and cursors that look valid but Postgres refuses, logging no error', async () => {
    const cursor = (startedKey: string) =>
      Buffer.from(JSON.stringify([startedKey, newSid('CA')])).toString('base64url');
    const cases: Array<[string, RegExp]> = [
      ['?from=0000-01-01T00:00:00Z', /from: must be a time from year 0001 to 9999/],
      [
        '?to=2025-03-02T00:00:00%2B23:59',
        /to: must be a time from year 0001 to 9999 with an offset within ±15:59/,
      ],
      [`?cursor=${cursor('0000-06-01T00:00:00.000000Z')}`, /cursor is not valid/],
      [`?cursor=${cursor('2025-03-02T00:00:00.000000+23:59')}`, /cursor is not valid/],
    ];
    for (const [query, message] of cases) {
      const r = await list(query);
      expect({ query, status: r.status }).toEqual({ query, status: 400 });
      expect((r.json as { error: { message: string } }).error.message).toMatch(message);
    }
    expect(h.logs()).not.toMatch(/api request failed/);
    // The limits themselves are fine.
    expect((await list('?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59-15:59')).status).toBe(200);
  });
});
