import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTwilioApi, type FakeTwilioApi } from '@calltx/twilio-sim';
import { stereoWav } from '../testing/audio.js';
import { ACCOUNT_SID, AUTH_TOKEN, sid } from '../testing/harness.js';
import { TwilioListError, listCallRecordings } from './list-recordings.js';
import { TwilioRecordingApi } from './recording-api.js';

let twilio: FakeTwilioApi;
let api: TwilioRecordingApi;
beforeAll(async () => {
  twilio = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  api = new TwilioRecordingApi(twilio.url, ACCOUNT_SID, AUTH_TOKEN);
});
afterAll(() => twilio?.close());

describe('listCallRecordings', () => {
  it("follows next_page_uri through every page of the call's recordings, and only those", async () => {
    const callSid = sid('CA');
    const wav = stereoWav(0.01).wav;
    const sids = Array.from({ length: 60 }, () => sid('RE'));
    for (const recordingSid of sids) twilio.addRecording(recordingSid, wav, { callSid });
    twilio.addRecording(sid('RE'), wav, { callSid: sid('CA') });

    const listed = await listCallRecordings(api, callSid, 5_000);
    expect(listed.map((r) => r.sid).sort()).toEqual([...sids].sort());
    expect(listed.every((r) => r.call_sid === callSid && r.status === 'completed')).toBe(true);
    const pages = twilio.requests.filter((r) => r.path.includes(`CallSid=${callSid}`));
    expect(pages.map((r) => r.status)).toEqual([200, 200]);
    expect(pages[1]!.path).toContain('Page=1');
  });

  it('answers an empty list for a call Twilio has no recording of', async () => {
    expect(await listCallRecordings(api, sid('CA'), 5_000)).toEqual([]);
  });

  it('fails for good on refused credentials and retryably when Twilio cannot be reached', async () => {
    const wrongToken = new TwilioRecordingApi(twilio.url, ACCOUNT_SID, 'not-the-token');
    const refused = await listCallRecordings(wrongToken, sid('CA'), 5_000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TwilioListError);
    expect(refused).toMatchObject({ retryable: false, message: expect.stringContaining('HTTP 401') });

    const closed = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    await closed.close();
    const unreachable = new TwilioRecordingApi(closed.url, ACCOUNT_SID, AUTH_TOKEN);
    const failed = await listCallRecordings(unreachable, sid('CA'), 5_000).catch((e: unknown) => e);
    expect(failed).toMatchObject({ name: 'TwilioListError', retryable: true });
  });
});
