import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEvents } from '@calltx/devstack';
import { internalEvents } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';
import type { ObjectStore } from '@calltx/storage';
import { stereoWav } from '../testing/audio.js';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  eventually,
  sid,
  startFetcher,
  startStack,
  type FetcherStack,
  type RunningFetcher,
} from '../testing/harness.js';
import { TwilioRecordingApi } from '../twilio/recording-api.js';
import { CallErasure } from './call-erasure.js';

let stack: FetcherStack;
let running: RunningFetcher;
beforeAll(async () => {
  stack = await startStack();
  running = await startFetcher(stack);
});
afterAll(async () => {
  await running?.stop();
  await stack?.close();
});

/** A call whose recording is archived: three objects (dual and the two splits) and its rows. */
async function archived(): Promise<{ callSid: string; recordingSid: string }> {
  const [callSid, recordingSid] = [sid('CA'), sid('RE')];
  stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid });
  await stack.callback(callSid, recordingSid, 'completed', { durationSeconds: 1 });
  await eventually(async () => expect((await stack.row(recordingSid))?.status).toBe('stored'));
  expect(await stack.objects(callSid)).toHaveLength(3);
  return { callSid, recordingSid };
}

const rowsOf = async (callSid: string) =>
  Number(
    (
      await stack.pool.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM recordings WHERE call_sid = $1)
              + (SELECT count(*) FROM recording_reconcile WHERE call_sid = $1) AS n`,
        [callSid],
      )
    ).rows[0]!.n,
  );

const request = (callSid: string) =>
  publishEvent(
    stack.js,
    stack.subjects.erasureRequested(callSid),
    internalEvents.erasureRequested({ callSid, requestedAt: new Date().toISOString() }),
    `${callSid}-erase-${Date.now()}`,
  );

const confirmations = (callSid: string) =>
  storedEvents(
    stack.js,
    stack.subjects.streamName('erasure'),
    stack.subjects.erasureDone(callSid, 'recording-fetcher'),
  );

describe("the recording-fetcher's erasure", () => {
  it('finishes an erasure that died halfway, at Twilio too, and archives nothing of the call again', async () => {
    const [call, other] = [await archived(), await archived()];
    // A delivery that dies after deleting one object: the rest stays, with the tombstone.
    let removals = 0;
    const dying: ObjectStore = {
      ...stack.store,
      list: (prefix) => stack.store.list(prefix),
      remove: async (key) => {
        if (++removals > 1) throw new Error('killed midway');
        await stack.store.remove(key);
      },
    };
    const api = new TwilioRecordingApi(stack.twilio.url, ACCOUNT_SID, AUTH_TOKEN);
    await expect(new CallErasure(stack.pool, dying, api, 5_000).erase(call.callSid)).rejects.toThrow(
      'killed midway',
    );
    expect(await stack.objects(call.callSid)).toHaveLength(2);
    expect(await rowsOf(call.callSid)).toBeGreaterThan(0);

    await request(call.callSid);
    await eventually(async () => expect(await confirmations(call.callSid)).toHaveLength(1));
    expect(await stack.objects(call.callSid)).toEqual([]);
    expect(await rowsOf(call.callSid)).toBe(0);
    expect(stack.twilio.hasRecording(call.recordingSid)).toBe(false);

    // A late callback (Twilio retries) is ignored: nothing stored again, no row.
    stack.twilio.addRecording(call.recordingSid, stereoWav(1).wav, { callSid: call.callSid });
    await stack.callback(call.callSid, call.recordingSid, 'completed', {
      msgId: `${call.recordingSid}:late`,
    });
    await eventually(async () =>
      expect(running.logs.lines.some((l) => l.msg === 'callback of an erased call: ignored')).toBe(true),
    );
    expect(await stack.objects(call.callSid)).toEqual([]);
    expect(await rowsOf(call.callSid)).toBe(0);
    expect(stack.twilio.hasRecording(call.recordingSid)).toBe(false);

    // The other call is whole.
    expect(await stack.objects(other.callSid)).toHaveLength(3);
    expect(stack.twilio.hasRecording(other.recordingSid)).toBe(true);
  });

  it('waits for a recording of the call that is downloading', async () => {
    const call = await archived();
    // Another delivery holds the recording's lease, as while it downloads.
    expect(await stack.repository.claimLease(call.recordingSid, 'downloader', 600_000)).toBe(true);
    await request(call.callSid);
    await eventually(async () =>
      expect(
        running.logs.lines.some(
          (l) => l.msg === 'handler failed, will retry' && String(l.subject).includes(call.callSid),
        ),
      ).toBe(true),
    );
    expect(await confirmations(call.callSid)).toEqual([]);
    expect(await stack.objects(call.callSid)).toHaveLength(3);
    await stack.repository.releaseLease(call.recordingSid, 'downloader');
    await eventually(async () => expect(await confirmations(call.callSid)).toHaveLength(1), 90_000);
    expect(await stack.objects(call.callSid)).toEqual([]);
    expect(await rowsOf(call.callSid)).toBe(0);
  });
});
