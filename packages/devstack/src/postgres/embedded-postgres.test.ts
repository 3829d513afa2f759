import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

describe('startEmbeddedPostgres', () => {
  let server: EmbeddedPostgres;
  beforeAll(async () => {
    server = await startEmbeddedPostgres({ lockWaitTimeoutMs: 2_000 });
  }, 120_000);
  afterAll(() => server.stop());

  it('answers a pg client', async () => {
    const client = new pg.Client(server.url);
    await client.connect();
    const { rows } = await client.query<{ sum: number }>('SELECT $1::int + $2::int AS sum', [2, 3]);
    expect(rows).toEqual([{ sum: 5 }]);
    await client.end();
  });

  it('runs transactions from three concurrent pools without mixing them', async () => {
    const setup = new pg.Client(server.url);
    await setup.connect();
    await setup.query('CREATE TABLE tx_test (who text NOT NULL, n int NOT NULL)');
    await setup.end();

    const pools = [1, 1, 3].map((max) => new pg.Pool({ connectionString: server.url, max }));
    const workers = pools.flatMap((pool, p) =>
      [0, 1, 2, 3].map(async (w) => {
        const who = `p${p}w${w}`;
        let committed = 0;
        for (let n = 0; n < 15; n += 1) {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('INSERT INTO tx_test VALUES ($1, $2)', [who, n]);
            // Another connection's rows must not appear, nor ours vanish, inside our transaction.
            const { rows } = await client.query<{ c: number }>(
              'SELECT count(*)::int AS c FROM tx_test WHERE who = $1',
              [who],
            );
            expect(rows[0]!.c).toBe(committed + 1);
            const commit = n % 5 !== 4;
            await client.query(commit ? 'COMMIT' : 'ROLLBACK');
            if (commit) committed += 1;
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          } finally {
            client.release();
          }
        }
      }),
    );
    await Promise.all(workers);
    const { rows } = await pools[0]!.query<{ c: number }>('SELECT count(*)::int AS c FROM tx_test');
    expect(rows[0]!.c).toBe(3 * 4 * 12); // 3 of every 15 rolled back
    await Promise.all(pools.map((pool) => pool.end()));
  });

  it('rolls back the open transaction of a connection that dies and serves the others', async () => {
    const dying = new pg.Client(server.url);
    await dying.connect();
    await dying.query('CREATE TABLE die_test (n int)');
    await dying.query('BEGIN');
    await dying.query('INSERT INTO die_test VALUES (1)');
    // Even connecting waits: the start-up exchange needs the backend, which the open transaction holds.
    const other = new pg.Client(server.url);
    const waiting = other
      .connect()
      .then(() => other.query<{ c: number }>('SELECT count(*)::int AS c FROM die_test'));
    dying.on('error', () => {});
    (dying as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await waiting).rows[0]!.c).toBe(0);
    await other.end();
  });

  it('fails a connection that waits longer than lockWaitTimeoutMs instead of hanging', async () => {
    const holder = new pg.Client(server.url);
    await holder.connect();
    await holder.query('BEGIN');
    const waiter = new pg.Client(server.url);
    waiter.on('error', () => {});
    const started = Date.now();
    await expect(waiter.connect()).rejects.toThrow(/waited 2000 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    await holder.query('COMMIT');
    const { rows } = await holder.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await holder.end();
  });
});

describe('startEmbeddedPostgres with a data directory', () => {
  // PGlite's start-up runs initdb in WASM: seconds each, more on a busy machine.
  it('keeps data across restarts', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pglite-test-'));
    try {
      const first = await startEmbeddedPostgres({ dataDir });
      const a = new pg.Client(first.url);
      await a.connect();
      await a.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
      await a.end();
      await first.stop();

      const second = await startEmbeddedPostgres({ dataDir });
      const b = new pg.Client(second.url);
      await b.connect();
      expect((await b.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
      await b.end();
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
