import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../config.js';
import { AGENT, KEYS, getJson, newSid, startApi, type ApiHarness } from '../testing/api-harness.js';
import { responseProblems } from '../testing/openapi.js';
import {
  CALLER_NUMBER_HASH_KEY,
  seedCall,
  seedRecording,
  seedSegment,
  seedStreamFile,
} from '../testing/seed.js';
import { openSse } from '../testing/sse-client.js';

interface Entry {
  id: string;
  actor: string;
  actorKind: string;
  action: string;
  callSid: string | null;
  detail: Record<string, unknown>;
  clientIp: string | null;
  result: string;
  status: number;
}
interface Page {
  entries: Entry[];
  nextCursor: string | null;
}

const reader = { apiKey: KEYS.reader };
const TECHNICIAN = '+15550108642';
const SPOKEN = 'the compressor rattles whenever it starts';

describe('the audit trail', () => {
  let h: ApiHarness;
  const callSid = newSid('CA');
  let ip = 0;
  /** Each read comes "through the ingress" from an address of its own: the entry's clientIp names the read. */
  const viaIngress = () => {
    const address = `203.0.113.${++ip}`;
    return { address, headers: { 'x-forwarded-for': address } };
  };
  const audit = async (query: string, credential: { apiKey: string } = reader) => {
    const r = await getJson(h.baseUrl, `/audit?${query}`, credential);
    expect(responseProblems('GET', '/audit', r.status, r.json)).toEqual([]);
    return r;
  };
  const allEntries = async () => {
    const entries: Entry[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = (await audit(`limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json as Page;
      entries.push(...page.entries);
      cursor = page.nextCursor;
    }
    return entries;
  };

  beforeAll(async () => {
    h = await startApi();
    await seedCall(h, { callSid, startedAt: new Date().toISOString(), technician: TECHNICIAN });
    await seedSegment(h, {
      callSid,
      speaker: 'technician',
      source: 'live',
      sequence: 0,
      startMs: 0,
      text: SPOKEN,
    });
    const recordingSid = newSid('RE');
    await seedRecording(h, {
      recordingSid,
      callSid,
      status: 'stored',
      durationMs: 5_000,
      objects: [
        { role: 'dual', channel: null, key: `recordings/${recordingSid}.wav`, bytes: 10, durationMs: 5_000 },
      ],
    });
    await seedStreamFile(h, {
      callSid,
      speaker: 'technician',
      key: `calls/${callSid}/technician-8000.wav`,
      bytes: 10,
      durationMs: 5_000,
    });
  });
  afterAll(() => h.close());

  it('records every read once, before answering, with actor, call, client IP and result; never personal data', async () => {
    const session = await fetch(`${h.baseUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(AGENT),
    });
    const { token } = (await session.json()) as { token: string };

    const reads: Array<{ expect: Partial<Entry>; status: number }> = [];
    const read = async (
      path: string,
      credential: { apiKey: string } | { token: string },
      expected: Partial<Entry>,
      status = 200,
    ) => {
      const { address, headers } = viaIngress();
      const r = await getJson(h.baseUrl, path, credential, { headers });
      expect(r.status, path).toBe(status);
      reads.push({ expect: { ...expected, clientIp: address, status }, status });
    };
    const readLive = async (path: string, expected: Partial<Entry>) => {
      const { address, headers } = viaIngress();
      const sse = await openSse(`${h.baseUrl}/api/v1${path}`, { 'x-api-key': KEYS.reader, ...headers });
      expect(sse.status, path).toBe(200);
      sse.close();
      reads.push({ expect: { ...expected, clientIp: address, status: 200 }, status: 200 });
    };

    const asReader = { actor: 'reader', actorKind: 'api-key', result: 'ok' };
    await read(`/calls/${callSid}`, reader, {
      ...asReader,
      action: 'call.read',
      callSid,
      detail: { recordingUrls: 1, streamAudioUrls: 1 },
    });
    await read(`/calls/${callSid}/transcript`, reader, {
      ...asReader,
      action: 'transcript.read',
      callSid,
      detail: { format: 'json', source: 'live' },
    });
    await read(`/calls/${callSid}/transcript?format=srt`, reader, {
      ...asReader,
      action: 'transcript.read',
      callSid,
      detail: { format: 'srt', source: 'live' },
    });
    await read(`/calls?number=${encodeURIComponent(TECHNICIAN)}`, reader, {
      ...asReader,
      action: 'calls.list',
      callSid: null,
      detail: { filters: ['number'] },
    });
    await read('/calls?q=compressor%20rattles&state=ended', reader, {
      ...asReader,
      action: 'calls.search',
      callSid: null,
      detail: { filters: ['state', 'q'] },
    });
    await readLive(`/transcripts/stream?callSid=${callSid}`, {
      ...asReader,
      action: 'live.transcripts',
      callSid,
      detail: { from: 'new' },
    });
    await readLive(`/calls/stream?callSid=${callSid}&from=start`, {
      ...asReader,
      action: 'live.calls',
      callSid,
      detail: { from: 'start' },
    });
    await read(
      `/calls/${callSid}`,
      { token },
      {
        actor: AGENT.identity,
        actorKind: 'bearer-token',
        action: 'call.read',
        callSid,
        result: 'ok',
      },
    );
    // Refused and failed reads are recorded with their result.
    await read(
      `/calls/${callSid}/transcript?format=vtt`,
      { apiKey: KEYS.callsOnly },
      { actor: 'calls-only', action: 'transcript.read', result: 'denied', callSid },
      403,
    );
    await read(
      '/calls?q=compressor',
      { apiKey: KEYS.callsOnly },
      { actor: 'calls-only', action: 'calls.search', result: 'denied' },
      403,
    );
    const unknown = newSid('CA');
    await read(
      `/calls/${unknown}`,
      reader,
      { ...asReader, action: 'call.read', callSid: unknown, result: 'not_found' },
      404,
    );
    await read(
      '/audit',
      { apiKey: KEYS.callsOnly },
      { actor: 'calls-only', action: 'audit.list', result: 'denied' },
      403,
    );

    const entries = await allEntries();
    for (const { expect: expected } of reads) {
      const matching = entries.filter((e) => e.clientIp === expected.clientIp);
      expect(matching, JSON.stringify(expected)).toHaveLength(1);
      expect(matching[0]).toMatchObject(expected);
    }
    // Nothing else but the reads of the trail itself.
    expect(entries.filter((e) => e.action !== 'audit.list')).toHaveLength(reads.length - 1);

    // Filters: by call, by actor.
    const forCall = ((await audit(`callSid=${callSid}`)).json as Page).entries;
    expect(forCall.map((e) => e.clientIp).sort()).toEqual(
      reads
        .filter((r) => r.expect.callSid === callSid)
        .map((r) => r.expect.clientIp)
        .sort(),
    );
    const forAgent = ((await audit(`actor=${AGENT.identity}`)).json as Page).entries;
    expect(forAgent).toHaveLength(1);
    const future = (
      (await audit(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).json as Page
    ).entries;
    expect(future).toEqual([]);

    // No transcript text and no phone number anywhere in the trail (the search's words and number's digits included).
    const { rows } = await h.pool.query<{ row: string }>('SELECT api_audit::text AS row FROM api_audit');
    const dump = rows.map((r) => r.row).join('\n');
    expect(dump).toContain(callSid);
    for (const personal of ['compressor', 'rattles', TECHNICIAN.slice(1), '5550108642']) {
      expect(dump).not.toContain(personal);
    }
  });

  it('is append-only', async () => {
    await getJson(h.baseUrl, `/calls/${callSid}`, reader);
    await expect(h.pool.query(`UPDATE api_audit SET actor = 'someone-else'`)).rejects.toThrow(/append-only/);
    await expect(h.pool.query('DELETE FROM api_audit')).rejects.toThrow(/append-only/);
    await expect(h.pool.query('TRUNCATE api_audit')).rejects.toThrow(/append-only/);
  });

  it('does not serve a read it cannot record: 503', async () => {
    await h.pool.query('ALTER TABLE api_audit RENAME TO api_audit_away');
    try {
      const detail = await getJson(h.baseUrl, `/calls/${callSid}`, reader);
      expect(detail.status).toBe(503);
      expect(JSON.stringify(detail.json)).not.toContain(SPOKEN);
      const transcript = await fetch(`${h.baseUrl}/api/v1/calls/${callSid}/transcript?format=txt`, {
        headers: { 'x-api-key': KEYS.reader },
      });
      expect(transcript.status).toBe(503);
      expect(await transcript.text()).not.toContain('compressor');
      const live = await openSse(`${h.baseUrl}/api/v1/transcripts/stream`, { 'x-api-key': KEYS.reader });
      expect(live.status).toBe(503);
      live.close();
    } finally {
      await h.pool.query('ALTER TABLE api_audit_away RENAME TO api_audit');
    }
  });

  it('takes the client IP from X-Forwarded-For only as API_TRUST_PROXY says', async () => {
    const direct = await getJson(h.baseUrl, `/calls/${callSid}`, reader);
    expect(direct.status).toBe(200);
    const [last] = ((await audit(`callSid=${callSid}&limit=1`)).json as Page).entries;
    expect(last?.clientIp).toMatch(/^(::ffff:)?127\.0\.0\.1$/);

    const load = (env: Record<string, string>) => loadApiConfig({ CALLER_NUMBER_HASH_KEY, ...env });
    const trust = (value: string) => load({ API_TRUST_PROXY: value }).API_TRUST_PROXY;
    expect(trust('false')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('10.0.0.0/8, loopback')).toBe('10.0.0.0/8, loopback');
    expect(load({}).API_TRUST_PROXY).toBe('loopback');
    expect(() => trust('ingress.example')).toThrow(/API_TRUST_PROXY/);
  });
});
