import { wavHeader } from '@calltx/audio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monoWav, stereoWav } from '../testing/audio.js';
import {
  countBySubject,
  eventually,
  sid,
  startFetcher,
  startStack,
  type FetcherStack,
  type RunningFetcher,
} from '../testing/harness.js';
import { startMediaHost, type MediaHost } from '../testing/media-host.js';
import { recordingKeys } from './recording-processor.js';

const ATTEMPTS = 3;
let stack: FetcherStack;
let fetcher: RunningFetcher;
let media: MediaHost;
beforeAll(async () => {
  [stack, media] = await Promise.all([startStack(), startMediaHost()]);
  fetcher = await startFetcher(stack, {
    RECORDING_REDIRECT_HOSTS: '127.0.0.1',
    RECORDING_FETCH_ATTEMPTS: String(ATTEMPTS),
    RECORDING_FETCH_BACKOFF_MS: '50',
    RECORDING_DOWNLOAD_TIMEOUT_MS: '500',
    RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC: '50000',
    RECORDING_CONCURRENCY: '4',
  });
});
afterAll(async () => {
  await fetcher?.stop();
  await Promise.all([stack?.close(), media?.close()]);
});

/** Waits for the recorded failure, then checks nothing was left behind or announced as if it were good. */
async function expectFailure(
  s: FetcherStack,
  callSid: string,
  recordingSid: string,
  code: string,
  attempts: number,
) {
  const row = await eventually(async () => {
    const current = await s.row(recordingSid);
    expect(current).toMatchObject({ status: 'failed', errorSource: 'fetcher', errorCode: code });
    return current!;
  }, 20_000);
  expect(row.attempts).toBe(attempts);
  expect(row.errorMessage).toBeTruthy();
  expect(row.objects).toEqual([]);
  expect(await s.objects(callSid)).toEqual([]);
  expect(await countBySubject(s, 'recordings', s.subjects.recording(callSid, 'stored'))).toEqual({});
  expect(await countBySubject(s, 'transcribe', s.subjects.all('transcribe', callSid))).toEqual({});
  // Announced, for readers that keep their own view of recordings.
  const failed = s.subjects.recording(callSid, 'failed');
  await eventually(async () =>
    expect(await countBySubject(s, 'recordings', failed)).toEqual({ [failed]: 1 }),
  );
  return row;
}

describe('a download that fails at Twilio or on the way', () => {
  it.each([
    ['cut short mid-transfer', { truncateAt: 5_000 }, 'truncated', ATTEMPTS],
    ['declaring an enormous Content-Length', { contentLengthOverride: 50 * 1024 ** 3 }, 'too-large', 1],
    ['trickling slower than the minimum rate', { slowBytesPerSec: 4_000 }, 'too-slow', ATTEMPTS],
    ['silent longer than the timeout', { delayMs: 2_000 }, 'timeout', ATTEMPTS],
    ['never ready (404)', { notReadyTimes: 99 }, 'not-ready', ATTEMPTS],
    ['failing with 5xx', { status5xxTimes: 99 }, 'server-error', ATTEMPTS],
  ])('is recorded as failed when %s', async (_, faults, code, attempts) => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(2).wav, { callSid, faults });
    await stack.callback(callSid, recordingSid, 'completed');
    await expectFailure(stack, callSid, recordingSid, code, attempts);
  });

  it('leaves no object when cut after a multipart part was already uploaded', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(280); // 8.96 MB: more than one 8 MiB part
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid, faults: { truncateAt: 8_800_000 } });
    await stack.callback(callSid, recordingSid, 'completed');
    await expectFailure(stack, callSid, recordingSid, 'truncated', ATTEMPTS);
  });

  it('refuses a redirect to a host outside the allowlist without connecting to it', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const target = `${media.url.replace('127.0.0.1', 'localhost')}/steal`;
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid, faults: { redirectTo: target } });
    await stack.callback(callSid, recordingSid, 'completed');
    const row = await expectFailure(stack, callSid, recordingSid, 'redirect-refused', 1);
    expect(row.errorMessage).toContain('localhost');
    expect(media.requests.filter((r) => r.path === '/steal')).toEqual([]);
  });

  it('refuses a redirect to the cloud metadata address', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, {
      callSid,
      faults: { redirectTo: 'http://169.254.169.254/latest/meta-data/' },
    });
    await stack.callback(callSid, recordingSid, 'completed');
    await expectFailure(stack, callSid, recordingSid, 'redirect-refused', 1);
  });

  it('reports Twilio refusing a dual-channel download of a mono recording', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, monoWav(1), { callSid });
    await stack.callback(callSid, recordingSid, 'completed');
    const row = await expectFailure(stack, callSid, recordingSid, 'refused', 1);
    expect(row.errorMessage).toMatch(/HTTP 400.*Twilio error \d+/);
  });

  it('removes objects an earlier, interrupted delivery left at the keys', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const keys = recordingKeys(callSid, recordingSid, ['agent', 'technician']);
    await stack.store.putObject(keys.dual, Buffer.from('left over by a crashed fetcher'));
    stack.twilio.addRecording(recordingSid, monoWav(1), {
      callSid,
      faults: { redirectTo: stack.twilio.mediaUrl(recordingSid) },
    });
    await stack.callback(callSid, recordingSid, 'completed');
    await expectFailure(stack, callSid, recordingSid, 'not-dual-channel', 1);
  });
});

describe('a file that is not the dual-channel WAV it should be', () => {
  const stereo = stereoWav(1);
  const mulawHeader = Buffer.from(stereo.wav.subarray(0, 44));
  mulawHeader.writeUInt16LE(7, 20); // format μ-law
  mulawHeader.writeUInt16LE(8, 34); // 8 bits per sample
  mulawHeader.writeUInt16LE(2, 32); // block align
  const partialFrameHeader = wavHeader({ sampleRate: 8000, channels: 2, bitsPerSample: 16, dataBytes: 8 });
  partialFrameHeader.writeUInt32LE(6, 40); // data size
  partialFrameHeader.writeUInt32LE(42, 4); // RIFF size
  const cases: Array<[string, Buffer, string, number]> = [
    ['a mono file', monoWav(1), 'not-dual-channel', 1],
    [
      'not a WAV at all',
      Buffer.from('<html><body>Service temporarily unavailable</body></html>'),
      'invalid-wav',
      1,
    ],
    [
      'a header declaring more audio than the file holds',
      Buffer.concat([
        wavHeader({ sampleRate: 8000, channels: 2, bitsPerSample: 16, dataBytes: 64_000 }),
        Buffer.alloc(32_000),
      ]),
      'length-mismatch',
      1,
    ],
    [
      'μ-law instead of 16-bit PCM',
      Buffer.concat([mulawHeader, Buffer.alloc(16_000)]),
      'unsupported-encoding',
      1,
    ],
    ['a header that stops early', stereo.wav.subarray(0, 30), 'truncated', ATTEMPTS],
    [
      'data that is not a whole number of stereo frames',
      Buffer.concat([partialFrameHeader, Buffer.alloc(6)]),
      'invalid-wav',
      1,
    ],
  ];
  it.each(cases)('is refused with a clear error: %s', async (_, body, code, attempts) => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const target = media.serve(`/media/${recordingSid}.wav`, { body });
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid, faults: { redirectTo: target } });
    await stack.callback(callSid, recordingSid, 'completed');
    await expectFailure(stack, callSid, recordingSid, code, attempts);
    const served = media.requests.filter((r) => r.path === `/media/${recordingSid}.wav`);
    expect(served).toHaveLength(attempts);
    // The credentials stay with the API host; a redirect target gets none.
    expect(served.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});

describe('wrong credentials', () => {
  it('are recorded as unauthorized after one attempt, without retrying', async () => {
    const other = await startStack('the-token-twilio-expects-000000');
    const wrong = await startFetcher(other, { RECORDING_FETCH_BACKOFF_MS: '50' });
    try {
      const callSid = sid('CA');
      const recordingSid = sid('RE');
      other.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid });
      await other.callback(callSid, recordingSid, 'completed');
      const row = await expectFailure(other, callSid, recordingSid, 'unauthorized', 1);
      expect(row.errorMessage).toContain('TWILIO_AUTH_TOKEN');
      expect(JSON.stringify(wrong.logs.lines)).not.toContain(other.env.TWILIO_AUTH_TOKEN);
    } finally {
      await wrong.stop();
      await other.close();
    }
  });
});
