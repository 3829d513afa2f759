import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callEvents } from '@calltx/events';
import { publishEvent } from '@calltx/nats';
import { ReconcileRepository, type ReconcileRow } from '../db/reconcile-repository.js';
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
import { recordingKeys } from './recording-processor.js';

/** Fast enough for a test, with room for a check while Twilio still says `processing`. */
const RECONCILE = {
  RECORDING_RECONCILE_AFTER_MS: '300',
  RECORDING_RECONCILE_GIVE_UP_MS: '3000',
  RECORDING_FETCH_BACKOFF_MS: '50',
};

let stack: FetcherStack;
let reconcile: ReconcileRepository;
let fetchers: RunningFetcher[];
beforeAll(async () => {
  stack = await startStack();
  reconcile = new ReconcileRepository(stack.pool);
  // Two replicas reconciling the same table at once.
  fetchers = [await startFetcher(stack, RECONCILE), await startFetcher(stack, RECONCILE)];
});
afterAll(async () => {
  await Promise.all((fetchers ?? []).map((f) => f.stop()));
  await stack?.close();
});

/** The gateway's `call ended` event: the only thing the reconciler needs to hear about a call. */
async function callEnded(callSid: string, msgId = `${callSid}:ended`): Promise<void> {
  const event = callEvents.ended({
    callSid,
    at: new Date().toISOString(),
    status: 'completed',
    durationSeconds: 3,
  });
  await publishEvent(stack.js, stack.subjects.call(callSid, 'ended'), event, msgId);
}

const listRequests = (callSid: string) =>
  stack.twilio.requests.filter((r) => r.path.includes('/Recordings.json') && r.path.includes(callSid));

const settled = (callSid: string, timeoutMs = 20_000) =>
  eventually(async () => {
    const row = await reconcile.get(callSid);
    expect(row).not.toBeNull();
    expect(row!.state).not.toBe('waiting');
    return row!;
  }, timeoutMs);

async function reconciledCount(outcome: string): Promise<number> {
  let total = 0;
  for (const { fetcher } of fetchers) {
    const { values } = await fetcher.metrics.reconciled.get();
    total += values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  }
  return total;
}

/** Archived exactly as the callback would have: same keys, one row, one stored event, one job per speaker. */
async function expectArchivedOnce(callSid: string, recordingSid: string, audio: { sha256: string }) {
  const row = await eventually(async () => {
    const current = await stack.row(recordingSid);
    expect(current?.status).toBe('stored');
    expect(current?.eventsPublishedAt).not.toBeNull();
    return current!;
  }, 20_000);
  await consumerIdle(stack);
  const keys = recordingKeys(callSid, recordingSid, ['agent', 'technician']);
  expect(row.objects.map((o) => o.key)).toEqual([keys.dual, ...keys.channels.map((c) => c.key)]);
  expect((await stack.objects(callSid)).map((o) => o.key).sort()).toEqual(
    [keys.dual, ...keys.channels.map((c) => c.key)].sort(),
  );
  expect(sha256(await stack.store.getBuffer(keys.dual))).toBe(audio.sha256);
  const { rows } = await stack.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM recordings WHERE call_sid = $1',
    [callSid],
  );
  expect(rows[0]!.n).toBe(1);
  const storedSubject = stack.subjects.recording(callSid, 'stored');
  expect(await countBySubject(stack, 'recordings', storedSubject)).toEqual({ [storedSubject]: 1 });
  expect(await countBySubject(stack, 'transcribe', stack.subjects.all('transcribe', callSid))).toEqual({
    [stack.subjects.transcribe(callSid, 'agent')]: 1,
    [stack.subjects.transcribe(callSid, 'technician')]: 1,
  });
  // The same callback the gateway would have stored, under the same message id.
  const callback = await lastMessage(stack, 'recordings', stack.subjects.recording(callSid, 'completed'));
  expect(callback.msgId).toBe(`${recordingSid}:completed`);
  expect(callback.json).toMatchObject({
    type: 'recording.status.v1',
    callSid,
    accountSid: ACCOUNT_SID,
    recordingSid,
    status: 'completed',
    channels: 2,
    recordingUrl: stack.twilio.recordingUrl(recordingSid),
  });
  return row;
}

describe('a call whose recording callback never arrived', () => {
  it('has its recording archived once from Twilio’s list, with two replicas reconciling', async () => {
    const calls = [1, 2, 3].map((seconds) => ({
      callSid: sid('CA'),
      recordingSid: sid('RE'),
      audio: stereoWav(seconds),
    }));
    for (const { callSid, recordingSid, audio } of calls) {
      stack.twilio.addRecording(recordingSid, audio.wav, { callSid });
    }

    // The calls end and their recording callbacks are dropped.
    await Promise.all(calls.map(({ callSid }) => callEnded(callSid)));
    for (const [i, { callSid, recordingSid, audio }] of calls.entries()) {
      expect(await settled(callSid)).toMatchObject({ state: 'recovered', twilioStatus: 'completed' });
      const row = await expectArchivedOnce(callSid, recordingSid, audio);
      expect(row).toMatchObject({ attempts: 1, twilioDurationSeconds: i + 1, durationMs: (i + 1) * 1000 });
      // One replica claimed the call and asked once; the other never did.
      expect(listRequests(callSid)).toEqual([
        {
          method: 'GET',
          path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings.json?CallSid=${callSid}&PageSize=50`,
          status: 200,
          completed: true,
        },
      ]);
    }
    expect(await reconciledCount('recovered')).toBe(calls.length);
  });

  it('keeps asking while Twilio says processing, then archives it once completed', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(1);
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid, status: 'processing' });

    await callEnded(callSid);
    await eventually(async () => {
      expect(await reconcile.get(callSid)).toMatchObject<Partial<ReconcileRow>>({
        state: 'waiting',
        twilioStatus: 'processing',
      });
    });
    expect(await stack.row(recordingSid)).toBeNull();
    stack.twilio.setStatus(recordingSid, 'completed');

    const outcome = await settled(callSid);
    expect(outcome.state).toBe('recovered');
    expect(outcome.checks).toBeGreaterThanOrEqual(2);
    await expectArchivedOnce(callSid, recordingSid, audio);
  });

  it('records what Twilio reports when there is no file (absent), as its callback would have', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid, status: 'absent' });

    await callEnded(callSid);
    expect(await settled(callSid)).toMatchObject({ state: 'twilio-final', twilioStatus: 'absent' });
    await eventually(async () =>
      expect(await stack.row(recordingSid)).toMatchObject({
        status: 'absent',
        errorSource: 'twilio',
        errorCode: '16102',
        attempts: 0,
      }),
    );
    expect(await stack.objects(callSid)).toEqual([]);
  });

  it('gives up on a recording Twilio never completes: recording-missing, counted and logged', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    stack.twilio.addRecording(recordingSid, stereoWav(1).wav, { callSid, status: 'processing' });

    await callEnded(callSid);
    const outcome = await settled(callSid);
    expect(outcome).toMatchObject({ state: 'recording-missing', twilioStatus: 'processing' });
    expect(outcome.checks).toBeGreaterThan(1);
    expect(await reconciledCount('recording-missing')).toBe(1);
    const warnings = fetchers.flatMap((f) =>
      f.logs.lines.filter((l) => l.msg === 'recording missing: twilio has not completed it in time'),
    );
    expect(warnings).toEqual([expect.objectContaining({ level: 40, callSid, twilioStatus: 'processing' })]);
    expect(await stack.row(recordingSid)).toBeNull();
    expect(await stack.objects(callSid)).toEqual([]);
    // Settled: no more questions to Twilio about it.
    const asked = listRequests(callSid).length;
    await consumerIdle(stack);
    expect((await reconcile.get(callSid))?.checks).toBe(asked);
  });
});

describe('a reconciler that cannot list recordings', () => {
  it('stops asking at the bound and records the call as recording-missing', async () => {
    // Twilio refuses the fetcher's credentials (401): no answer will ever come.
    const refusing = await startStack('another-auth-token-0123456789ab');
    const fetcher = await startFetcher(refusing, RECONCILE);
    try {
      const callSid = sid('CA');
      const event = callEvents.ended({ callSid, at: new Date().toISOString(), status: 'completed' });
      await publishEvent(refusing.js, refusing.subjects.call(callSid, 'ended'), event, `${callSid}:ended`);
      const outcome = await eventually(async () => {
        const row = await new ReconcileRepository(refusing.pool).get(callSid);
        expect(row?.state).toBe('recording-missing');
        return row!;
      }, 20_000);
      expect(outcome.twilioStatus).toBeNull();
      const asked = refusing.twilio.requests.filter((r) => r.path.includes(callSid));
      expect(asked.length).toBe(outcome.checks);
      expect(asked.every((r) => r.status === 401)).toBe(true);
      expect(
        fetcher.logs.lines.filter((l) => l.msg === 'could not list the recordings of a call'),
      ).toHaveLength(outcome.checks);
    } finally {
      await fetcher.stop();
      await refusing.close();
    }
  });
});

describe('a call whose recording callback arrived', () => {
  it('is settled from the fetcher’s own table without asking Twilio', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(1);
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid });
    await stack.callback(callSid, recordingSid, 'completed');
    await expectArchivedOnce(callSid, recordingSid, audio);

    await callEnded(callSid);
    await callEnded(callSid, `${callSid}:ended:again`); // a second delivery changes nothing
    expect(await settled(callSid)).toMatchObject({ state: 'stored', checks: 1 });
    expect(listRequests(callSid)).toEqual([]);
  });
});

describe('settled reconciliations', () => {
  it('are pruned once older than RECORDING_RECONCILE_KEEP_MS, each once with two replicas pruning; waiting ones never', async () => {
    const HOUR_MS = 3_600_000;
    const row = async (state: string, updatedAgoMs: number) => {
      const callSid = sid('CA');
      // Due in a day: no replica claims the waiting one during the test.
      await stack.pool.query(
        `INSERT INTO recording_reconcile (call_sid, due_at, state, updated_at)
         VALUES ($1, now() + interval '1 day', $2, now() - $3 * interval '1 millisecond')`,
        [callSid, state, updatedAgoMs],
      );
      return callSid;
    };
    const old = [
      ...(await Promise.all(Array.from({ length: 600 }, () => row('stored', 2 * HOUR_MS)))),
      await row('recovered', 2 * HOUR_MS),
      await row('twilio-final', 2 * HOUR_MS),
      await row('recording-missing', 2 * HOUR_MS),
    ];
    const kept = [await row('waiting', 2 * HOUR_MS), await row('stored', HOUR_MS / 2)];
    const count = async (callSids: string[]) =>
      (
        await stack.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM recording_reconcile WHERE call_sid = ANY($1)',
          [callSids],
        )
      ).rows[0]!.n;
    // The replicas already running keep rows 30 days (the default): nothing of these goes.
    expect(await count(old)).toBe(old.length);

    // Two replicas that keep rows an hour, pruning the same table at once (600 rows: more than one batch each).
    const pruners = await Promise.all(
      [1, 2].map(() => startFetcher(stack, { ...RECONCILE, RECORDING_RECONCILE_KEEP_MS: String(HOUR_MS) })),
    );
    try {
      await eventually(async () => expect(await count(old)).toBe(0), 20_000);
      expect(await count(kept)).toBe(kept.length);
      let pruned = 0;
      for (const { fetcher } of pruners)
        pruned += (await fetcher.metrics.reconcilePruned.get()).values[0]!.value;
      expect(pruned).toBe(old.length);
    } finally {
      await Promise.all(pruners.map((p) => p.stop()));
    }
  });
});
