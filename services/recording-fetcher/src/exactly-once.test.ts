import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgbouncerForTests, startEmbeddedPostgres } from '@calltx/devstack';
import { createPool, type Pool } from '@calltx/db';
import { RecordingsRepository } from './db/recordings-repository.js';
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

/** Where the fetchers keep their rows, and how the test reads them. */
interface Database {
  /** The fetchers' DATABASE_URL. */
  url: string;
  pool: Pool;
  repository: RecordingsRepository;
  /** Checks that the run really went the way this database is meant to be reached. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

const databases: Record<string, () => Promise<Database>> = {
  PostgreSQL: () =>
    Promise.resolve({
      url: stack.env.DATABASE_URL!,
      pool: stack.pool,
      repository: stack.repository,
      verify: () => Promise.resolve(),
      close: () => Promise.resolve(),
    }),
  // One server connection for both fetchers' pools: every transaction of theirs shares it.
  'PgBouncer in transaction pooling mode': async () => {
    const bouncer = await pgbouncerForTests({
      databaseUrl: stack.pg.baseUrl,
      schema: stack.pg.schema,
      poolSize: 1,
    });
    return {
      url: bouncer.url,
      pool: stack.pool,
      repository: stack.repository,
      async verify() {
        const admin = new pg.Client(bouncer.adminUrl);
        await admin.connect();
        try {
          const mine = <T extends { database: string }>(rows: T[]) =>
            rows.filter((r) => r.database === bouncer.database);
          const [pool] = mine(
            (await admin.query<{ database: string; pool_mode: string }>('SHOW POOLS')).rows,
          );
          expect(pool?.pool_mode).toBe('transaction');
          const [stats] = mine(
            (await admin.query<{ database: string; total_xact_count: string }>('SHOW STATS')).rows,
          );
          expect(Number(stats?.total_xact_count)).toBeGreaterThan(10);
          const clients = mine((await admin.query<{ database: string }>('SHOW CLIENTS')).rows);
          const servers = mine((await admin.query<{ database: string }>('SHOW SERVERS')).rows);
          expect(servers.length).toBeLessThanOrEqual(1);
          expect(clients.length).toBeGreaterThan(servers.length);
        } finally {
          await admin.end();
        }
      },
      close: () => bouncer.stop(),
    };
  },
  // Every connection shares PGlite's single session.
  PGlite: async () => {
    const server = await startEmbeddedPostgres();
    const pool = createPool(server.url, { max: 1 });
    return {
      url: server.url,
      pool,
      repository: new RecordingsRepository(pool),
      verify: () => Promise.resolve(),
      async close() {
        await pool.end();
        await server.stop();
      },
    };
  },
};

/** One row, one set of three objects holding the source audio, one stored event, one job per speaker. */
async function expectStoredExactlyOnce(
  callSid: string,
  recordingSid: string,
  audio: { sha256: string },
  db: Pick<Database, 'pool' | 'repository'> = stack,
) {
  const row = await eventually(async () => {
    const current = await db.repository.get(recordingSid);
    expect(current?.status).toBe('stored');
    expect(current?.eventsPublishedAt).not.toBeNull();
    return current!;
  }, 40_000);
  await consumerIdle(stack);
  const { rows } = await db.pool.query<{ n: number }>(
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

  it.each(Object.keys(databases))(
    'on %s, turns one callback delivered five times to two replicas into one row, one set of objects and one stored event',
    { timeout: 120_000 },
    async (name) => {
      const db = await databases[name]!();
      try {
        await deliverFiveTimesToTwoReplicas(db);
      } finally {
        await db.close();
      }
    },
  );

  async function deliverFiveTimesToTwoReplicas(db: Database) {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const audio = stereoWav(30);
    stack.twilio.addRecording(recordingSid, audio.wav, { callSid });
    const env = { RECORDING_CONCURRENCY: '2', DATABASE_URL: db.url };
    const replicas = await Promise.all([spawn(env), spawn(env)]);

    await stack.callback(callSid, recordingSid, 'in-progress');
    // Distinct message ids: JetStream's deduplication must not be what saves us.
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        stack.callback(callSid, recordingSid, 'completed', { msgId: `${recordingSid}:completed:${i}` }),
      ),
    );
    const row = await expectStoredExactlyOnce(callSid, recordingSid, audio, db);
    expect(row.attempts).toBe(1);
    expect(stack.twilio.requests.filter((r) => r.path.includes(`${recordingSid}.wav`))).toHaveLength(1);

    // Readiness queries the database, so each replica holds a client connection for db.verify() to count.
    for (const p of replicas) {
      expect((await fetch(`${p.baseUrl}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${p.baseUrl}/readyz`)).json()).toEqual({ status: 'ready', failing: [] });
    }
    const storedCounts = await Promise.all(
      replicas.map(async (p) => {
        const text = await (await fetch(`${p.baseUrl}/metrics`)).text();
        return Number(
          /calltx_recording_fetcher_recordings_total\{outcome="stored"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0,
        );
      }),
    );
    expect(storedCounts[0]! + storedCounts[1]!).toBe(1);
    await db.verify();

    for (const p of replicas) p.child.kill('SIGTERM');
    expect(await Promise.all(replicas.map((p) => p.exited))).toEqual([0, 0]);
  }

  // Three process starts, and after each kill the dead delivery's lease runs out before another takes over.
  it(
    'stores a recording exactly once when killed mid-download and again mid-upload, then restarted',
    { timeout: 60_000 },
    async () => {
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
    },
  );

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
