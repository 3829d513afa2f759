import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256, stereoWav } from './testing/audio.js';
import {
  consumerIdle,
  countBySubject,
  eventually,
  sid,
  startStack,
  type FetcherStack,
} from './testing/harness.js';
import type { ServiceProcess as FetcherProcess } from '@calltx/devstack';
import { spawnFetcher } from './testing/process.js';

let stack: FetcherStack;
const running = new Set<FetcherProcess>();
beforeAll(async () => {
  stack = await startStack();
});
afterEach(() => {
  for (const p of running) p.child.kill('SIGKILL');
  running.clear();
});
afterAll(async () => {
  await stack?.close();
});

async function spawn(overrides: Record<string, string> = {}): Promise<FetcherProcess> {
  const p = await spawnFetcher({ ...stack.env, RECORDING_ACK_WAIT_MS: '2000', ...overrides });
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

/** One row, one set of three objects holding the source audio, one stored event, one job per speaker. */
async function expectStoredExactlyOnce(callSid: string, recordingSid: string, audio: { sha256: string }) {
  const row = await eventually(async () => {
    const current = await stack.row(recordingSid);
    expect(current?.status).toBe('stored');
    expect(current?.eventsPublishedAt).not.toBeNull();
    return current!;
  }, 40_000);
  await consumerIdle(stack);
  const { rows } = await stack.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM recordings WHERE call_sid = $1',
    [callSid],
  );
  expect(rows[0]!.n).toBe(1);
  const objects = await stack.objects(callSid);
  expect(objects.map((o) => o.key.split('/').at(-1))).toEqual(['agent.wav', 'dual.wav', 'technician.wav']);
  expect(objects.map((o) => o.size)).toEqual(
    ['agent', 'dual', 'technician'].map((role) => row.objects.find((o) => o.role === role)!.bytes),
  );
  expect(sha256(await stack.store.getBuffer(row.objects[0]!.key))).toBe(audio.sha256);
  const storedSubject = stack.subjects.recording(callSid, 'stored');
  expect(await countBySubject(stack, 'recordings', storedSubject)).toEqual({ [storedSubject]: 1 });
  expect(await countBySubject(stack, 'transcribe', stack.subjects.all('transcribe', callSid))).toEqual({
    [stack.subjects.transcribe(callSid, 'agent')]: 1,
    [stack.subjects.transcribe(callSid, 'technician')]: 1,
  });
  return row;
}

describe('recording-fetcher processes', () => {
  it('exits non-zero naming every invalid variable', async () => {
    await expect(
      spawnFetcher({
        ...stack.env,
        RECORDING_REDIRECT_HOSTS: 'evil.com/path',
        RECORDING_DELETE_AFTER_STORE: 'yes',
        S3_ENDPOINT: 'minio:9000',
      }),
    ).rejects.toThrow(
      /exited with 1: recording-fetcher: Invalid configuration:\n {2}- S3_ENDPOINT .*\n {2}- RECORDING_REDIRECT_HOSTS .*\n {2}- RECORDING_DELETE_AFTER_STORE must be true or false/,
    );
  });

  it('turns one callback delivered five times to two replicas into one row, one set of objects and one stored event', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(30);
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid });
    const replicas = await Promise.all([
      spawn({ RECORDING_CONCURRENCY: '2' }),
      spawn({ RECORDING_CONCURRENCY: '2' }),
    ]);

    await stack.callback(callSid, recordingSid, 'in-progress');
    // Distinct message ids: JetStream's deduplication must not be what saves us.
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        stack.callback(callSid, recordingSid, 'completed', { msgId: `${recordingSid}:completed:${i}` }),
      ),
    );
    const row = await expectStoredExactlyOnce(callSid, recordingSid, audio);
    expect(row.attempts).toBe(1);
    expect(stack.twilio.requests.filter((r) => r.path.includes(`${recordingSid}.wav`))).toHaveLength(1);

    const [first] = replicas;
    expect((await fetch(`${first!.baseUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${first!.baseUrl}/readyz`)).json()).toEqual({ status: 'ready', failing: [] });
    const storedCounts = await Promise.all(
      replicas.map(async (p) => {
        const text = await (await fetch(`${p.baseUrl}/metrics`)).text();
        return Number(
          /calltx_recording_fetcher_recordings_total\{outcome="stored"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0,
        );
      }),
    );
    expect(storedCounts[0]! + storedCounts[1]!).toBe(1);

    for (const p of replicas) p.child.kill('SIGTERM');
    expect(await Promise.all(replicas.map((p) => p.exited))).toEqual([0, 0]);
  });

  it('stores a recording exactly once when killed mid-download and again mid-upload, then restarted', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(400); // 12.8 MB: the dual upload goes multipart (5 MiB parts)
    // About 6.4 s per download, so each kill lands mid-transfer.
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid, faults: { slowBytesPerSec: 2_000_000 } });
    const env = { RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC: '1000' };
    const attemptsReach = (n: number) =>
      eventually(
        async () => expect((await stack.row(recordingSid))?.attempts).toBeGreaterThanOrEqual(n),
        20_000,
      );

    const first = await spawn(env);
    await stack.callback(callSid, recordingSid, 'completed');
    await attemptsReach(1);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // ~2 MB in: downloading
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawn(env);
    await attemptsReach(2);
    await new Promise((resolve) => setTimeout(resolve, 5_200)); // ~10 MB in: dual parts uploaded, more in flight
    second.child.kill('SIGKILL');
    await second.exited;
    expect((await stack.row(recordingSid))?.status).toBe('completed');

    await spawn(env);
    const row = await expectStoredExactlyOnce(callSid, recordingSid, audio);
    expect(row.attempts).toBe(3);
    expect(row.durationMs).toBe(400_000);
  });

  it('on SIGTERM mid-download abandons the fetch, exits 0 within the grace period, and another replica stores it once', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(60); // 1.9 MB at 400 kB/s: about 5 s
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid, faults: { slowBytesPerSec: 400_000 } });
    const env = { RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC: '1000' };

    const first = await spawn({ ...env, SHUTDOWN_GRACE_MS: '1000' });
    await stack.callback(callSid, recordingSid, 'completed');
    await eventually(async () => expect((await stack.row(recordingSid))?.attempts).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const stopping = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(3_000);
    expect(await stack.row(recordingSid)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await stack.objects(callSid)).toEqual([]);

    await spawn(env);
    const row = await expectStoredExactlyOnce(callSid, recordingSid, audio);
    expect(row.attempts).toBe(2);
  });
});
