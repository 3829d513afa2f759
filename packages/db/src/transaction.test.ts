import { createServer, type AddressInfo } from 'node:net';
import { postgresForTests, type PostgresForTests } from '@calltx/devstack';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError } from './database-error.js';
import { createPool } from './pool.js';
import { withTransaction } from './transaction.js';

/** Resolves when `count` callers have arrived. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    arrived += 1;
    if (arrived === count) release();
    return all;
  };
}

describe('withTransaction', () => {
  let db: PostgresForTests;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await postgresForTests();
    pool = createPool(db.url, { max: 4, applicationName: 'calltx-db-test' });
    await pool.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
  });
  afterAll(async () => {
    await pool.end();
    await db.stop();
  });

  it('commits what the function did and returns its result', async () => {
    const result = await withTransaction(pool, async (client) => {
      await client.query('INSERT INTO accounts VALUES (1, 10), (2, 10)');
      return 'done';
    });
    expect(result).toBe('done');
    expect((await pool.query('SELECT count(*)::int AS c FROM accounts')).rows).toEqual([{ c: 2 }]);
  });

  it('rolls back and rethrows the caller’s own error unchanged', async () => {
    const own = new Error('business rule violated');
    await expect(
      withTransaction(pool, async (client) => {
        await client.query('UPDATE accounts SET balance = 0');
        throw own;
      }),
    ).rejects.toBe(own);
    expect((await pool.query('SELECT sum(balance)::int AS s FROM accounts')).rows).toEqual([{ s: 20 }]);
  });

  it('reports a constraint violation as a non-retryable DatabaseError', async () => {
    const error = await withTransaction(pool, (client) =>
      client.query('INSERT INTO accounts VALUES (1, 0)'),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ code: '23505', retryable: false });
  });

  it('reports a serialization failure as retryable', async () => {
    // Write skew: each transaction reads both rows and updates a different one.
    const bothRead = barrier(2);
    const attempt = (id: number) =>
      withTransaction(
        pool,
        async (client) => {
          await client.query('SELECT sum(balance) FROM accounts');
          await bothRead();
          await client.query('UPDATE accounts SET balance = balance - 5 WHERE id = $1', [id]);
        },
        { isolationLevel: 'serializable' },
      );
    const outcomes = await Promise.allSettled([attempt(1), attempt(2)]);
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.reason).toBeInstanceOf(DatabaseError);
    expect(failures[0]!.reason).toMatchObject({ code: '40001', retryable: true });
  });

  it('reports an unreachable server as a retryable DatabaseError', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    await new Promise((resolve) => blocker.close(resolve));
    const nowhere = createPool(`postgres://postgres@127.0.0.1:${port}/test`, {
      connectionTimeoutMillis: 2_000,
    });
    try {
      const error = await withTransaction(nowhere, async () => 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({ code: 'ECONNREFUSED', retryable: true, operation: 'connect' });
    } finally {
      await nowhere.end();
    }
  });
});

describe('createPool', () => {
  it('names its connections and tells about errors of idle ones instead of crashing', async () => {
    const db = await postgresForTests();
    const idleErrors: DatabaseError[] = [];
    const pool = createPool(db.url, {
      applicationName: 'calltx-pool-test',
      onIdleError: (e) => idleErrors.push(e),
    });
    try {
      const { rows } = await pool.query<{ application_name: string }>('SHOW application_name');
      expect(rows).toEqual([{ application_name: 'calltx-pool-test' }]);
      // Kill our idle connection from another session, as a Postgres restart would.
      const killer = createPool(db.baseUrl, { max: 1 });
      await killer.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'calltx-pool-test'",
      );
      await killer.end();
      await expect.poll(() => idleErrors.length).toBe(1);
      expect(idleErrors[0]).toMatchObject({ name: 'DatabaseError', retryable: true });
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]); // a fresh connection
    } finally {
      await pool.end();
      await db.stop();
    }
  });
});
