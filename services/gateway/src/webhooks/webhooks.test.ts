import { XMLParser } from 'fast-xml-parser';
import { hashPhoneDigits, partyNumber } from '@calltx/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCOUNT_SID,
  CALLER_ID,
  CALLER_NUMBER_HASH_KEY,
  PUBLIC_BASE_URL,
  metricValue,
  postTwilio,
  readStream,
  sid,
  startGateway,
  type GatewayHarness,
} from '../testing/harness.js';

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });
const TECHNICIAN = '+14155550123';
/** Twilio's connection overrides: 5 retries (its maximum) on 5xx and timeouts, within 15 s (its maximum). */
const RETRY_OVERRIDES = '#ct=3000&rt=5000&tt=15000&rc=5&rp=5xx,ct,rt';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h.close();
});

const voiceParams = (to: string, callSid = sid('CA')) => ({
  AccountSid: ACCOUNT_SID,
  CallSid: callSid,
  From: 'client:agent-7',
  To: to,
  Direction: 'inbound',
  CallStatus: 'ringing',
  ApiVersion: '2010-04-01',
});

describe('POST /twilio/voice', () => {
  it('streams both tracks, records both channels and dials the technician', async () => {
    const callSid = sid('CA');
    const res = await postTwilio(h, '/twilio/voice', voiceParams(TECHNICIAN, callSid));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    const doc = xml.parse(await res.text()) as {
      Response: { Start: Array<Record<string, Record<string, unknown>>>; Dial: Record<string, unknown> };
    };
    const [streamStart, recordingStart] = doc.Response.Start;
    expect(streamStart!.Stream).toEqual({
      url: 'wss://gateway.calls.example/twilio/media-stream',
      track: 'both_tracks',
      statusCallback: `${PUBLIC_BASE_URL}/twilio/stream-status${RETRY_OVERRIDES}`,
      statusCallbackMethod: 'POST',
      Parameter: { name: 'callSid', value: callSid },
    });
    expect(recordingStart!.Recording).toEqual({
      channels: 'dual',
      trim: 'do-not-trim',
      recordingStatusCallback: `${PUBLIC_BASE_URL}/twilio/recording-status${RETRY_OVERRIDES}`,
      recordingStatusCallbackMethod: 'POST',
      recordingStatusCallbackEvent: 'in-progress completed absent',
    });
    expect(doc.Response.Dial).toEqual({ callerId: CALLER_ID, Number: Number(TECHNICIAN) });

    const [stored] = await readStream(
      h.nats.nc,
      h.subjects.streamName('calls'),
      h.subjects.call(callSid, 'started'),
    );
    expect(stored?.json).toMatchObject({
      type: 'call.started.v1',
      callSid,
      to: '',
      toNumber: { hash: hashPhoneDigits(TECHNICIAN.slice(1), CALLER_NUMBER_HASH_KEY), last2: '23' },
      from: 'client:agent-7',
    });
    expect(stored?.json).not.toHaveProperty('fromNumber');
    expect(stored?.msgId).toBe(`${callSid}:started`);
    expect(h.logs.text).not.toContain(TECHNICIAN.slice(1));
  });

  it('publishes no phone number in clear on the calls stream, only keyed hashes', async () => {
    const callSid = sid('CA');
    const caller = '+1 (628) 555-0187';
    await postTwilio(h, '/twilio/voice', { ...voiceParams(TECHNICIAN, callSid), From: caller });
    await postTwilio(h, '/twilio/call-status', {
      ...voiceParams(TECHNICIAN, callSid),
      From: caller,
      CallStatus: 'completed',
      CallDuration: '3',
    });
    const messages = await readStream(h.nats.nc, h.subjects.streamName('calls'));
    const ours = messages.filter((m) => m.subject.includes(callSid));
    expect(ours.map((m) => m.subject.split('.').at(-1))).toEqual(
      expect.arrayContaining(['started', 'status']),
    );
    for (const { json } of ours) {
      const digits = JSON.stringify(json).replace(/\D/g, '');
      expect(digits).not.toContain('6285550187');
      expect(digits).not.toContain(TECHNICIAN.slice(1));
    }
    expect(ours.find((m) => m.subject.endsWith('.started'))?.json).toMatchObject({
      from: '',
      fromNumber: partyNumber(caller, CALLER_NUMBER_HASH_KEY),
      to: '',
      toNumber: partyNumber(TECHNICIAN, CALLER_NUMBER_HASH_KEY),
    });
  });

  it.each([
    ['markup', '+1415555<Say>hi</Say>'],
    ['attribute breakout', '"/><Hangup/><Dial>+1900'],
    ['a SIP URI', 'sip:attacker@example.com'],
    ['letters', '+1415CALLNOW'],
    ['too long', `+1${'2'.repeat(20)}`],
    ['empty', ''],
    ['unicode digits', '+١٤١٥٥٥٥٠١٢٣'],
    ['a newline', '+14155550123\n<Hangup/>'],
  ])('refuses %s in To politely without injecting markup', async (_, to) => {
    const callSid = sid('CA');
    const res = await postTwilio(h, '/twilio/voice', voiceParams(to, callSid));
    expect(res.status).toBe(200);
    const body = await res.text();
    const doc = xml.parse(body) as { Response: Record<string, unknown> };
    expect(Object.keys(doc.Response).sort()).toEqual(['Hangup', 'Say']);
    expect(body).not.toContain('<Dial');
    expect(body).not.toContain('<Number');
    const refusal = h.logs.lines.find((l) => l.msg === 'call refused' && l.callSid === callSid);
    expect(refusal).toMatchObject({ reason: 'destination is not an E.164 number', to: '[redacted]' });
    expect(
      await readStream(h.nats.nc, h.subjects.streamName('calls'), h.subjects.call(callSid, 'started')),
    ).toEqual([]);
  });

  const startedEvent = async (callSid: string) =>
    (await readStream(h.nats.nc, h.subjects.streamName('calls'), h.subjects.call(callSid, 'started')))[0]
      ?.json;
  const metric = (field: string) => metricValue(h, 'calltx_gateway_call_settings_refused_total', { field });
  const dialled = (body: string) => {
    const doc = xml.parse(body) as { Response: Record<string, unknown> };
    return doc.Response.Dial;
  };

  it('puts the language and hints the browser passed on the call.started event', async () => {
    const callSid = sid('CA');
    const res = await postTwilio(h, '/twilio/voice', {
      ...voiceParams(TECHNICIAN, callSid),
      language: ' DE ',
      hints: '  Wärmepumpe, Vaillant, Kundennummer  ',
    });
    expect(res.status).toBe(200);
    expect(dialled(await res.text())).toEqual({ callerId: CALLER_ID, Number: Number(TECHNICIAN) });
    expect(await startedEvent(callSid)).toMatchObject({
      language: 'de',
      hints: 'Wärmepumpe, Vaillant, Kundennummer',
    });
    const blank = sid('CA');
    await postTwilio(h, '/twilio/voice', { ...voiceParams(TECHNICIAN, blank), language: '', hints: ' ' });
    const event = await startedEvent(blank);
    expect(event).toBeDefined();
    expect(event).not.toHaveProperty('language');
    expect(event).not.toHaveProperty('hints');
  });

  it.each([
    ['an unknown language', { language: 'german' }, 'language', 'not a Whisper language code'],
    ['a language with markup', { language: 'de"/><Hangup/>' }, 'language', 'not a Whisper language code'],
    ['hints too long', { hints: 'x'.repeat(1_001) }, 'hints', 'longer than 1000 characters'],
    ['hints with a special token', { hints: 'ok <|endoftext|> <|en|>' }, 'hints', 'special token'],
    ['hints with a control character', { hints: 'a\u0007b' }, 'hints', 'control characters'],
  ])('answers the call with the defaults and a warning for %s', async (_, extra, field, reason) => {
    const callSid = sid('CA');
    const before = await metric(field);
    const res = await postTwilio(h, '/twilio/voice', {
      ...voiceParams(TECHNICIAN, callSid),
      language: 'fr',
      hints: 'Renault',
      ...extra,
    });
    expect(res.status).toBe(200);
    expect(dialled(await res.text())).toEqual({ callerId: CALLER_ID, Number: Number(TECHNICIAN) });
    const event = await startedEvent(callSid);
    expect(event).toMatchObject({ type: 'call.started.v1', callSid });
    expect(event).not.toHaveProperty(field);
    // The other setting, valid, is kept.
    const other = field === 'language' ? { hints: 'Renault' } : { language: 'fr' };
    expect(event).toMatchObject(other);
    const warning = h.logs.lines.find(
      (l) => String(l.msg).startsWith('call setting refused') && l.callSid === callSid,
    );
    expect(warning).toMatchObject({ field });
    expect(warning?.reason).toContain(reason);
    expect(await metric(field)).toBe(before + 1);
  });

  it('asks Twilio to retry every callback on 5xx and timeouts, within its documented limits', async () => {
    const res = await postTwilio(h, '/twilio/voice', voiceParams(TECHNICIAN));
    const body = await res.text();
    const urls = [...body.matchAll(/(?:statusCallback|recordingStatusCallback|action)="([^"]*)"/g)].map(
      (m) => new URL(m[1]!.replaceAll('&amp;', '&')),
    );
    expect(urls.map((u) => u.pathname)).toEqual(['/twilio/stream-status', '/twilio/recording-status']);
    for (const url of urls) {
      const overrides = new URLSearchParams(url.hash.slice(1));
      expect(Number(overrides.get('rc'))).toBe(5);
      expect(overrides.get('rp')!.split(',').sort()).toEqual(['5xx', 'ct', 'rt']);
      const [ct, rt, tt] = ['ct', 'rt', 'tt'].map((key) => Number(overrides.get(key)));
      expect(ct).toBeGreaterThanOrEqual(100);
      expect(ct).toBeLessThanOrEqual(10_000);
      expect(rt).toBeGreaterThanOrEqual(100);
      expect(tt).toBeLessThanOrEqual(15_000);
      // Room for retries: one attempt timing out must not use up the whole budget.
      expect(ct! + rt!).toBeLessThan(tt!);
    }
  });

  it('refuses requests for another account', async () => {
    const res = await postTwilio(h, '/twilio/voice', {
      ...voiceParams(TECHNICIAN),
      AccountSid: `AC${'2'.repeat(32)}`,
    });
    expect(res.status).toBe(400);
  });

  it('refuses with 400, storing nothing, a signed request whose text Postgres would refuse (NUL) or is unbounded', async () => {
    const callSid = sid('CA');
    const withNul = await postTwilio(h, '/twilio/voice', {
      ...voiceParams(TECHNICIAN, callSid),
      From: 'client:agent\u00007',
    });
    expect(withNul.status).toBe(400);
    expect(await withNul.text()).toMatch(/From: must not contain a NUL character/);
    const tooLong = await postTwilio(h, '/twilio/voice', {
      ...voiceParams(TECHNICIAN, callSid),
      Direction: 'd'.repeat(65),
    });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toMatch(/Direction/);
    const streamError = await postTwilio(h, '/twilio/stream-status', {
      AccountSid: ACCOUNT_SID,
      CallSid: callSid,
      StreamSid: sid('MZ'),
      StreamEvent: 'stream-error',
      StreamError: 'bad\u0000',
    });
    expect(streamError.status).toBe(400);
    expect(
      await readStream(h.nats.nc, h.subjects.streamName('calls'), h.subjects.all('calls', callSid)),
    ).toEqual([]);
  });
});

describe('signatures', () => {
  const routes: Array<[string, Record<string, string>]> = [
    ['/twilio/voice', voiceParams(TECHNICIAN)],
    [
      '/twilio/recording-status',
      { AccountSid: ACCOUNT_SID, CallSid: sid('CA'), RecordingSid: sid('RE'), RecordingStatus: 'completed' },
    ],
    [
      '/twilio/stream-status',
      { AccountSid: ACCOUNT_SID, CallSid: sid('CA'), StreamSid: sid('MZ'), StreamEvent: 'stream-started' },
    ],
    ['/twilio/call-status', { AccountSid: ACCOUNT_SID, CallSid: sid('CA'), CallStatus: 'completed' }],
  ];

  it.each(routes)('%s refuses a missing signature with 403', async (path, params) => {
    expect((await postTwilio(h, path, params, 'missing')).status).toBe(403);
  });

  it.each(routes)('%s refuses a forged signature with 403', async (path, params) => {
    expect((await postTwilio(h, path, params, 'forged')).status).toBe(403);
  });

  it.each([
    ['without the fragment', ''],
    ['with the connection overrides', RETRY_OVERRIDES],
  ])('accepts a callback signed over its URL %s', async (_, fragment) => {
    const params = {
      AccountSid: ACCOUNT_SID,
      CallSid: sid('CA'),
      RecordingSid: sid('RE'),
      RecordingStatus: 'in-progress',
    };
    const res = await fetch(`${h.baseUrl}/twilio/recording-status`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': (await import('twilio')).default.getExpectedTwilioSignature(
          'test-auth-token-0123456789abcdef',
          `${PUBLIC_BASE_URL}/twilio/recording-status${fragment}`,
          params,
        ),
      },
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(204);
  });

  it('refuses a signature over the URL with other connection overrides', async () => {
    const params = voiceParams(TECHNICIAN);
    const res = await fetch(`${h.baseUrl}/twilio/voice`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': (await import('twilio')).default.getExpectedTwilioSignature(
          'test-auth-token-0123456789abcdef',
          `${PUBLIC_BASE_URL}/twilio/voice#rc=1`,
          params,
        ),
      },
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(403);
  });

  it('refuses a valid signature over different parameters', async () => {
    const params = voiceParams(TECHNICIAN);
    const res = await fetch(`${h.baseUrl}/twilio/voice`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': (await import('twilio')).default.getExpectedTwilioSignature(
          'test-auth-token-0123456789abcdef',
          `${PUBLIC_BASE_URL}/twilio/voice`,
          params,
        ),
      },
      body: new URLSearchParams({ ...params, To: '+19005550100' }),
    });
    expect(res.status).toBe(403);
  });

  it('validates against PUBLIC_BASE_URL, not the Host header', async () => {
    const params = voiceParams(TECHNICIAN);
    const signedForHost = (await import('twilio')).default.getExpectedTwilioSignature(
      'test-auth-token-0123456789abcdef',
      `${h.baseUrl}/twilio/voice`,
      params,
    );
    const res = await fetch(`${h.baseUrl}/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signedForHost },
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(403);
  });
});

describe('callbacks go to JetStream, deduplicated', () => {
  it('recording-status: stored once per RecordingSid and status, 204', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const params = {
      AccountSid: ACCOUNT_SID,
      CallSid: callSid,
      RecordingSid: recordingSid,
      RecordingStatus: 'completed',
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${recordingSid}`,
      RecordingDuration: '42',
      RecordingChannels: '2',
      RecordingSource: 'StartCallRecordingTwiML',
      RecordingStartTime: 'Fri, 27 Nov 2026 10:00:00 +0000',
    };
    for (let i = 0; i < 3; i += 1)
      expect((await postTwilio(h, '/twilio/recording-status', params)).status).toBe(204);
    expect(
      (await postTwilio(h, '/twilio/recording-status', { ...params, RecordingStatus: 'in-progress' })).status,
    ).toBe(204);
    const stored = await readStream(
      h.nats.nc,
      h.subjects.streamName('recordings'),
      h.subjects.all('recordings', callSid),
    );
    expect(stored.map((m) => m.subject)).toEqual([
      h.subjects.recording(callSid, 'completed'),
      h.subjects.recording(callSid, 'in-progress'),
    ]);
    expect(stored[0]!.json).toMatchObject({
      type: 'recording.status.v1',
      recordingSid,
      status: 'completed',
      durationSeconds: 42,
      channels: 2,
    });
  });

  it('recording-status: absent and failed keep their error codes', async () => {
    const callSid = sid('CA');
    const params = {
      AccountSid: ACCOUNT_SID,
      CallSid: callSid,
      RecordingSid: sid('RE'),
      RecordingStatus: 'absent',
      ErrorCode: '0',
    };
    expect((await postTwilio(h, '/twilio/recording-status', params)).status).toBe(204);
    const [stored] = await readStream(
      h.nats.nc,
      h.subjects.streamName('recordings'),
      h.subjects.all('recordings', callSid),
    );
    expect(stored?.json).toMatchObject({ status: 'absent', errorCode: '0' });
  });

  it('recording-status: invalid SIDs are refused with 400 and nothing is stored', async () => {
    const callSid = sid('CA');
    const res = await postTwilio(h, '/twilio/recording-status', {
      AccountSid: ACCOUNT_SID,
      CallSid: callSid,
      RecordingSid: 'RE../../etc',
      RecordingStatus: 'completed',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/RecordingSid/);
    expect(
      await readStream(h.nats.nc, h.subjects.streamName('recordings'), h.subjects.all('recordings', callSid)),
    ).toEqual([]);
  });

  it('stream-status: stored once per StreamSid and event', async () => {
    const callSid = sid('CA');
    const streamSid = sid('MZ');
    const params = {
      AccountSid: ACCOUNT_SID,
      CallSid: callSid,
      StreamSid: streamSid,
      StreamEvent: 'stream-stopped',
      StreamName: 'x',
      Timestamp: '2026-11-27T10:00:00Z',
    };
    expect((await postTwilio(h, '/twilio/stream-status', params)).status).toBe(204);
    expect((await postTwilio(h, '/twilio/stream-status', params)).status).toBe(204);
    const stored = await readStream(
      h.nats.nc,
      h.subjects.streamName('calls'),
      h.subjects.call(callSid, 'stream-status'),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.json).toMatchObject({
      type: 'call.stream-status.v1',
      streamSid,
      streamEvent: 'stream-stopped',
    });
  });

  it('call-status: a terminal status also publishes call ended', async () => {
    const callSid = sid('CA');
    expect(
      (
        await postTwilio(h, '/twilio/call-status', {
          AccountSid: ACCOUNT_SID,
          CallSid: callSid,
          CallStatus: 'in-progress',
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await postTwilio(h, '/twilio/call-status', {
          AccountSid: ACCOUNT_SID,
          CallSid: callSid,
          CallStatus: 'completed',
          CallDuration: '61',
        })
      ).status,
    ).toBe(204);
    const stored = await readStream(
      h.nats.nc,
      h.subjects.streamName('calls'),
      h.subjects.all('calls', callSid),
    );
    expect(stored.map((m) => m.json.type)).toEqual(['call.status.v1', 'call.status.v1', 'call.ended.v1']);
    expect(stored[2]!.json).toMatchObject({ status: 'completed', durationSeconds: 61 });
  });
});

describe('operational endpoints', () => {
  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${h.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/calltx_gateway_signature_rejections_total\{.*reason="missing".*\} \d+/);
  });
});
