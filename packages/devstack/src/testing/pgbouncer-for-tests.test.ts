import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgbouncerForTests, type PgBouncerForTests } from './pgbouncer-for-tests.js';
import { postgresForTests, type PostgresForTests } from './postgres-for-tests.js';

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client(url);
  await client.connect();
  return client;
}

describe('pgbouncerForTests', () => {
  let db: PostgresForTests;
  let bouncer: PgBouncerForTests;
  beforeAll(async () => {
    db = await postgresForTests();
    bouncer = await pgbouncerForTests({ databaseUrl: db.baseUrl, schema: db.schema, poolSize: 1 });
  });
  afterAll(async () => {
    await bouncer?.stop();
    await db?.stop();
  });

  it('pools in transaction mode: two clients share one server connection, and its session state', async () => {
    const [a, b] = await Promise.all([connected(bouncer.url), connected(bouncer.url)]);
    try {
      const pid = async (client: pg.Client) =>
        (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(await pid(a)).toBe(await pid(b));
      // Why services must keep no session state: b "gets" the session lock a still "holds".
      const lock = async (client: pg.Client) =>
        (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(4242) AS locked')).rows[0]!
          .locked;
      expect([await lock(a), await lock(b)]).toEqual([true, true]);
      await a.query('SELECT pg_advisory_unlock_all()');

      const admin = await connected(bouncer.adminUrl);
      try {
        const pools = await admin.query<{ database: string; pool_mode: string; cl_active: number }>(
          'SHOW POOLS',
        );
        expect(pools.rows.find((p) => p.database === bouncer.database)).toMatchObject({
          pool_mode: 'transaction',
          cl_active: 2,
        });
        const servers = await admin.query<{ database: string }>('SHOW SERVERS');
        expect(servers.rows.filter((s) => s.database === bouncer.database)).toHaveLength(1);
      } finally {
        await admin.end();
      }
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("puts unqualified names in the test's schema", async () => {
    const client = await connected(bouncer.url);
    try {
      await client.query('CREATE TABLE through_bouncer (id int)');
    } finally {
      await client.end();
    }
    const direct = await connected(db.baseUrl);
    try {
      const { rows } = await direct.query<{ schema: string }>(
        "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'through_bouncer'",
      );
      expect(rows.map((r) => r.schema)).toEqual([db.schema]);
    } finally {
      await direct.end();
    }
  });

  it('refuses a URL with startup options, which PgBouncer would reject or drop', async () => {
    await expect(pgbouncerForTests({ databaseUrl: db.url })).rejects.toThrow(/without `options`/);
  });
});
