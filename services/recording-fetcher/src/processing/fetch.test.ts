import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, stereoWav } from '../testing/audio.js';
import {
  ACCOUNT_SID,
  consumerIdle,
  countBySubject,
  eventually,
  lastMessage,
  sid,
  startFetcher,
  startStack,
  type FetcherStack,
  type RunningFetcher,
} from '../testing/harness.js';

let stack: FetcherStack;
let fetcher: RunningFetcher;
beforeAll(async () => {
  stack = await startStack();
  fetcher = await startFetcher(stack, { RECORDING_FETCH_BACKOFF_MS: '50' });
});
afterAll(async () => {
  await fetcher?.stop();
  await stack?.close();
});

const stored = (recordingSid: string) =>
  eventually(async () => {
    const row = await stack.row(recordingSid);
    expect(row?.status).toBe('stored');
    expect(row?.eventsPublishedAt).not.toBeNull();
    return row!;
  });

describe('a completed recording', () => {
  it('is stored whole and split per speaker, recorded with sizes, durations and checksums, then announced', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(3);
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid });

    await stack.callback(callSid, recordingSid, 'in-progress');
    await eventually(async () => expect((await stack.row(recordingSid))?.status).toBe('in-progress'));
    await stack.callback(callSid, recordingSid, 'completed', { durationSeconds: 3 });
    const row = await stored(recordingSid);

    const base = `calls/${callSid}/recordings/${recordingSid}`;
    expect(await stack.objects(callSid)).toEqual([
      { key: `${base}/agent.wav`, size: audio.left.length },
      { key: `${base}/dual.wav`, size: audio.wav.length },
      { key: `${base}/technician.wav`, size: audio.right.length },
    ]);
    expect((await stack.store.getBuffer(`${base}/dual.wav`)).equals(audio.wav)).toBe(true);
    expect((await stack.store.getBuffer(`${base}/agent.wav`)).equals(audio.left)).toBe(true);
    expect((await stack.store.getBuffer(`${base}/technician.wav`)).equals(audio.right)).toBe(true);

    expect(row).toMatchObject({
      callSid,
      channels: 2,
      sampleRate: 8000,
      durationMs: 3000,
      twilioDurationSeconds: 3,
      attempts: 1,
      errorCode: null,
    });
    expect(row.objects).toEqual([
      {
        role: 'dual',
        channel: null,
        key: `${base}/dual.wav`,
        bytes: audio.wav.length,
        sha256: audio.sha256,
        durationMs: 3000,
      },
      {
        role: 'agent',
        channel: 1,
        key: `${base}/agent.wav`,
        bytes: audio.left.length,
        sha256: sha256(audio.left),
        durationMs: 3000,
      },
      {
        role: 'technician',
        channel: 2,
        key: `${base}/technician.wav`,
        bytes: audio.right.length,
        sha256: sha256(audio.right),
        durationMs: 3000,
      },
    ]);

    const storedEvent = await lastMessage(stack, 'recordings', stack.subjects.recording(callSid, 'stored'));
    expect(storedEvent.msgId).toBe(`${recordingSid}:stored`);
    expect(storedEvent.json).toMatchObject({
      type: 'recording.stored.v1',
      callSid,
      recordingSid,
      durationMs: 3000,
      channels: 2,
      objects: row.objects.map(({ role, key, bytes, sha256: digest, channel, durationMs }) => ({
        role,
        key,
        bytes,
        sha256: digest,
        channel,
        durationMs,
      })),
    });
    for (const [speaker, bytes] of [
      ['agent', audio.left],
      ['technician', audio.right],
    ] as const) {
      const job = await lastMessage(stack, 'transcribe', stack.subjects.transcribe(callSid, speaker));
      expect(job.msgId).toBe(`${recordingSid}:${speaker}`);
      expect(job.json).toEqual({
        type: 'transcription.job.v1',
        callSid,
        speaker,
        recordingSid,
        objectKey: `${base}/${speaker}.wav`,
        sampleRate: 8000,
        durationMs: 3000,
      });
      expect(bytes.length).toBe(row.objects.find((o) => o.role === speaker)!.bytes);
    }
    // Downloaded from the API with the SIDs it was given, as a dual-channel file, once.
    expect(stack.twilio.requests.filter((r) => r.path.includes(recordingSid))).toEqual([
      {
        method: 'GET',
        path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${recordingSid}.wav?RequestedChannels=2`,
        status: 200,
        completed: true,
      },
    ]);
    // Kept at Twilio unless RECORDING_DELETE_AFTER_STORE is set.
    expect(stack.twilio.hasRecording(recordingSid)).toBe(true);
  });

  it('is retried while Twilio answers 404 (not ready yet) and 5xx, then stored', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, {
      callSid,
      faults: { notReadyTimes: 2, status5xxTimes: 2 },
    });
    await stack.callback(callSid, recordingSid, 'completed');
    const row = await stored(recordingSid);
    expect(row.attempts).toBe(5);
    expect(stack.twilio.requests.filter((r) => r.path.includes(recordingSid)).map((r) => r.status)).toEqual([
      404, 404, 500, 500, 200,
    ]);
  });

  it('follows a redirect to the same API host', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(1);
    stack.twilio.addRecording(recordingSid, audio.wav, {
      callSid,
      faults: { redirectTo: stack.twilio.mediaUrl(recordingSid) },
    });
    await stack.callback(callSid, recordingSid, 'completed');
    const row = await stored(recordingSid);
    expect(row.objects[0]?.sha256).toBe(audio.sha256);
  });

  it('never fetches the RecordingUrl of the callback', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid });
    await stack.callback(callSid, recordingSid, 'completed');
    await stored(recordingSid);
    // The callback's RecordingUrl has no extension; only the .wav resource built from the SIDs was requested.
    expect(stack.twilio.requests.filter((r) => r.path.includes(recordingSid)).map((r) => r.path)).toEqual([
      `/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${recordingSid}.wav?RequestedChannels=2`,
    ]);
  });
});

describe('other callbacks', () => {
  it('records absent and failed recordings with their error codes, and a late completed does not undo them', async () => {
    const callSid = sid('CA');
    const absent = sid('RE');
    const failed = sid('RE');
    await stack.callback(callSid, absent, 'in-progress');
    await stack.callback(callSid, absent, 'absent', { errorCode: '13617' });
    await stack.callback(callSid, failed, 'failed', { errorCode: '13618' });
    await eventually(async () => {
      expect(await stack.row(absent)).toMatchObject({
        status: 'absent',
        errorSource: 'twilio',
        errorCode: '13617',
        attempts: 0,
      });
      expect(await stack.row(failed)).toMatchObject({
        status: 'failed',
        errorSource: 'twilio',
        errorCode: '13618',
        attempts: 0,
      });
    });
    await stack.callback(callSid, absent, 'completed');
    await consumerIdle(stack);
    expect(await stack.row(absent)).toMatchObject({ status: 'absent', attempts: 0 });
    expect(stack.twilio.requests.filter((r) => r.path.includes(absent) || r.path.includes(failed))).toEqual(
      [],
    );
  });

  it('ignores its own stored events and a late in-progress after stored', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid });
    await stack.callback(callSid, recordingSid, 'completed');
    await stored(recordingSid);
    await stack.callback(callSid, recordingSid, 'in-progress');
    await consumerIdle(stack);
    expect((await stack.row(recordingSid))?.status).toBe('stored');
    expect(await countBySubject(stack, 'recordings', stack.subjects.recording(callSid, 'stored'))).toEqual({
      [stack.subjects.recording(callSid, 'stored')]: 1,
    });
  });

  it('terminates a callback for another account without touching the table', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    await stack.callback(callSid, recordingSid, 'completed', { accountSid: `AC${'2'.repeat(32)}` });
    await eventually(() =>
      expect(
        fetcher.logs.lines.some(
          (l) =>
            l.msg === 'message dead-lettered and terminated' &&
            l.reason === 'invalid' &&
            String(l.issues).includes('accountSid'),
        ),
      ).toBe(true),
    );
    expect(await stack.row(recordingSid)).toBeNull();
    expect(stack.twilio.requests.filter((r) => r.path.includes(recordingSid))).toEqual([]);
  });
});

describe('with RECORDING_DELETE_AFTER_STORE=true', () => {
  it('deletes the recording at Twilio only after the stored copy is verified', async () => {
    const other = await startStack();
    const deleting = await startFetcher(other, { RECORDING_DELETE_AFTER_STORE: 'true' });
    try {
      const callSid = sid('CA');
      const recordingSid = sid('RE');
      other.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid });
      await other.callback(callSid, recordingSid, 'completed');
      const row = await eventually(async () => {
        const current = await other.row(recordingSid);
        expect(current?.twilioDeletedAt).toBeInstanceOf(Date);
        return current!;
      });
      expect(row.storedAt!.getTime()).toBeLessThanOrEqual(row.twilioDeletedAt!.getTime());
      expect(other.twilio.hasRecording(recordingSid)).toBe(false);
      expect(
        other.twilio.requests
          .filter((r) => r.path.includes(recordingSid))
          .map((r) => `${r.method} ${r.status} ${r.path.split('/').at(-1)}`),
      ).toEqual([`GET 200 ${recordingSid}.wav?RequestedChannels=2`, `DELETE 204 ${recordingSid}.json`]);
      expect((await other.objects(callSid)).length).toBe(3);
    } finally {
      await deleting.stop();
      await other.close();
    }
  });
});
