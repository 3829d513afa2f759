import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeWav, encodeWav } from '../audio/wav.js';
import { startFakeTwilioApi, type FakeTwilioApi } from './fake-twilio-api.js';

const ACCOUNT_SID = 'AC' + 'ab'.repeat(16);
const AUTH_TOKEN = 'fake-api-token';
const RECORDING_SID = 'RE' + 'cd'.repeat(16);
const AUTH = 'Basic ' + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64');

/** One second of stereo: a ramp on channel 1, its negative on channel 2. */
function stereoWav(samples = 8000): Buffer {
  const left = new Int16Array(samples).map((_, i) => (i % 2000) * 10);
  const right = left.map((v) => -v);
  return encodeWav({ sampleRate: 8000, channels: [left, right] });
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Fewer bytes than Content-Length arrived before the connection ended. */
  incomplete: boolean;
  /** The client's HTTP parser rejected the response (e.g. bytes beyond Content-Length). */
  protocolError?: string;
}

/** Plain HTTP GET that reports partial or malformed bodies instead of throwing them away. */
function rawGet(
  url: string,
  headers: Record<string, string> = { Authorization: AUTH },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let settle: ((protocolError?: string) => void) | undefined;
    const request = get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => {});
      settle = (protocolError) => {
        settle = undefined;
        const body = Buffer.concat(chunks);
        const declared = Number(res.headers['content-length'] ?? body.length);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          incomplete: body.length < declared,
          ...(protocolError ? { protocolError } : {}),
        });
      };
      res.on('close', () => settle?.());
    });
    request.on('error', (error) => (settle ? settle(error.message) : reject(error)));
  });
}

let api: FakeTwilioApi;
let mediaUrl: string;

beforeEach(async () => {
  api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  mediaUrl = `${api.recordingUrl(RECORDING_SID)}.wav?RequestedChannels=2`;
});
afterEach(() => api.close());

describe('fake Twilio Recordings API', () => {
  it('serves a recording to the account holder, dual channel when asked', async () => {
    const wav = stereoWav();
    api.addRecording(RECORDING_SID, wav);
    const response = await fetch(mediaUrl, { headers: { Authorization: AUTH } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/x-wav');
    expect(Buffer.from(await response.arrayBuffer()).equals(wav)).toBe(true);
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', status: 200, completed: true });
    expect(api.requests.at(-1)!.path).toContain('RequestedChannels=2');
  });

  it('mixes to mono for RequestedChannels=1', async () => {
    api.addRecording(RECORDING_SID, stereoWav());
    const response = await fetch(`${api.recordingUrl(RECORDING_SID)}.wav?RequestedChannels=1`, {
      headers: { Authorization: AUTH },
    });
    const pcm = decodeWav(new Uint8Array(await response.arrayBuffer()), 8000);
    expect(pcm.channels).toHaveLength(1);
    expect(pcm.channels[0]!.every((s) => s === 0)).toBe(true);
  });

  it('answers 401 with Twilio error 20003 without or with wrong credentials', async () => {
    api.addRecording(RECORDING_SID, stereoWav());
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Basic ' + Buffer.from(`${ACCOUNT_SID}:wrong`).toString('base64') },
    ];
    for (const headers of attempts) {
      const response = await fetch(mediaUrl, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Basic');
      expect(await response.json()).toEqual({
        code: 20003,
        message: 'Authenticate',
        more_info: 'https://www.twilio.com/docs/errors/20003',
        status: 401,
      });
    }
  });

  it('answers 404 with Twilio error 20404 for unknown recordings and other accounts', async () => {
    const unknown = await fetch(mediaUrl, { headers: { Authorization: AUTH } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 20404, status: 404 });

    api.addRecording(RECORDING_SID, stereoWav());
    const otherAccount = await fetch(mediaUrl.replace(ACCOUNT_SID, 'AC' + 'ee'.repeat(16)), {
      headers: { Authorization: AUTH },
    });
    expect(otherAccount.status).toBe(404);
  });

  it('describes the recording as JSON', async () => {
    api.addRecording(RECORDING_SID, stereoWav(16000), { callSid: 'CA' + '12'.repeat(16) });
    const response = await fetch(`${api.recordingUrl(RECORDING_SID)}.json`, {
      headers: { Authorization: AUTH },
    });
    expect(await response.json()).toMatchObject({
      sid: RECORDING_SID,
      account_sid: ACCOUNT_SID,
      call_sid: 'CA' + '12'.repeat(16),
      channels: 2,
      duration: '2',
      status: 'completed',
    });
  });

  it('deletes with 204, after which the recording is gone', async () => {
    api.addRecording(RECORDING_SID, stereoWav());
    const url = `${api.recordingUrl(RECORDING_SID)}.json`;
    expect((await fetch(url, { method: 'DELETE', headers: { Authorization: AUTH } })).status).toBe(204);
    expect(api.hasRecording(RECORDING_SID)).toBe(false);
    expect((await fetch(mediaUrl, { headers: { Authorization: AUTH } })).status).toBe(404);
    expect((await fetch(url, { method: 'DELETE', headers: { Authorization: AUTH } })).status).toBe(404);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(401);
  });

  it('answers "not ready" 404s, then 500s, then the file', async () => {
    api.addRecording(RECORDING_SID, stereoWav(), { faults: { notReadyTimes: 2, status5xxTimes: 1 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await rawGet(mediaUrl)).status);
    expect(statuses).toEqual([404, 404, 500, 200]);
  });

  it('cuts the body off at truncateAt', async () => {
    const wav = stereoWav();
    api.addRecording(RECORDING_SID, wav, { faults: { truncateAt: 1000 } });
    const response = await rawGet(mediaUrl);
    expect(response.headers['content-length']).toBe(String(wav.length));
    expect(response.body.length).toBe(1000);
    expect(response.incomplete).toBe(true);
    await vi.waitFor(() => expect(api.requests.at(-1)).toMatchObject({ status: 200, completed: false }));
  });

  it('declares a wrong Content-Length when told to', async () => {
    const wav = stereoWav();
    api.addRecording(RECORDING_SID, wav, { faults: { contentLengthOverride: wav.length + 500 } });
    const tooLong = await rawGet(mediaUrl);
    expect(tooLong.headers['content-length']).toBe(String(wav.length + 500));
    expect(tooLong.body.length).toBe(wav.length);
    expect(tooLong.incomplete).toBe(true);

    api.setFaults(RECORDING_SID, { contentLengthOverride: 100 });
    const tooShort = await rawGet(mediaUrl);
    expect(tooShort.headers['content-length']).toBe('100');
    // Bytes beyond the declared length make a strict client (Node's) reject the response.
    expect(tooShort.body.length).toBeLessThanOrEqual(100);
    expect(tooShort.protocolError).toBeDefined();
  });

  it('delays and throttles responses', async () => {
    const wav = stereoWav(4000); // 16 kB
    api.addRecording(RECORDING_SID, wav, { faults: { delayMs: 300 } });
    let t0 = performance.now();
    expect((await rawGet(mediaUrl)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);

    api.setFaults(RECORDING_SID, { slowBytesPerSec: 32_000 });
    t0 = performance.now();
    const slow = await rawGet(mediaUrl);
    expect(slow.body.equals(wav)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it('redirects to a storage-style link that serves the file without credentials', async () => {
    const wav = stereoWav();
    api.addRecording(RECORDING_SID, wav, { faults: { redirectTo: api.mediaUrl(RECORDING_SID) } });
    const redirect = await rawGet(mediaUrl);
    expect(redirect.status).toBe(302);
    expect(redirect.headers['location']).toBe(api.mediaUrl(RECORDING_SID));
    const followed = await fetch(mediaUrl, { headers: { Authorization: AUTH } });
    expect(Buffer.from(await followed.arrayBuffer()).equals(wav)).toBe(true);
    expect((await rawGet(api.mediaUrl(RECORDING_SID), {})).status).toBe(200);
  });
});

describe('fake Twilio Recordings list', () => {
  const CALL_SID = 'CA' + 'ef'.repeat(16);
  const listUrl = (query: string) => `${api.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings.json?${query}`;
  const getJson = async (url: string) => {
    const response = await fetch(url, { headers: { Authorization: AUTH } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("lists a call's recordings newest first, page by page through next_page_uri", async () => {
    const sids = [1, 2, 3, 4, 5].map((i) => `RE${String(i).padStart(32, '0')}`);
    sids.forEach((recordingSid, i) =>
      api.addRecording(recordingSid, stereoWav(), {
        callSid: CALL_SID,
        startTime: new Date(Date.UTC(2026, 0, 1, 0, i)),
        status: i === 4 ? 'processing' : 'completed',
      }),
    );
    api.addRecording(RECORDING_SID, stereoWav(), { callSid: 'CA' + '01'.repeat(16) });

    const pages: Array<Record<string, unknown>> = [];
    let next: string | null =
      `/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings.json?CallSid=${CALL_SID}&PageSize=2`;
    while (next) {
      const { status, body } = await getJson(`${api.url}${next}`);
      expect(status).toBe(200);
      pages.push(body);
      next = body['next_page_uri'] as string | null;
    }
    expect(pages.map((p) => [p['page'], p['page_size'], p['start'], p['end']])).toEqual([
      [0, 2, 0, 1],
      [1, 2, 2, 3],
      [2, 2, 4, 4],
    ]);
    const listed = pages.flatMap((p) => p['recordings'] as Array<Record<string, unknown>>);
    expect(listed.map((r) => r['sid'])).toEqual([...sids].reverse());
    expect(listed[0]).toMatchObject({
      account_sid: ACCOUNT_SID,
      call_sid: CALL_SID,
      status: 'processing',
      channels: 2,
      duration: '1',
    });
    expect(listed.slice(1).every((r) => r['status'] === 'completed')).toBe(true);
    expect(pages[0]!['previous_page_uri']).toBeNull();
    expect(pages[2]!['previous_page_uri']).toContain('Page=1');
  });

  it('serves a processing recording only once it is completed', async () => {
    api.addRecording(RECORDING_SID, stereoWav(), { callSid: CALL_SID, status: 'processing' });
    expect((await fetch(mediaUrl, { headers: { Authorization: AUTH } })).status).toBe(404);
    api.setStatus(RECORDING_SID, 'completed');
    expect((await fetch(mediaUrl, { headers: { Authorization: AUTH } })).status).toBe(200);
    const { body } = await getJson(listUrl(`CallSid=${CALL_SID}`));
    expect(body['recordings']).toMatchObject([{ sid: RECORDING_SID, status: 'completed' }]);
    expect(body['next_page_uri']).toBeNull();
  });

  it('answers an empty page for a call without recordings, and refuses bad paging and credentials', async () => {
    const { status, body } = await getJson(listUrl(`CallSid=${CALL_SID}`));
    expect(status).toBe(200);
    expect(body).toMatchObject({ recordings: [], page: 0, page_size: 50, next_page_uri: null });
    expect((await getJson(listUrl('PageSize=1001'))).status).toBe(400);
    expect((await fetch(listUrl(''), { headers: { Authorization: 'Basic eDp5' } })).status).toBe(401);
  });
});
