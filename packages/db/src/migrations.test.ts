import { postgresForTests, startEmbeddedPostgres, type PostgresForTests } from '@calltx/devstack';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseError } from './database-error.js';
import { MigrationChecksumError, runMigrations, type Migration } from './migrations.js';
import { createPool } from './pool.js';

const MIGRATIONS: Migration[] = [
  // Without IF NOT EXISTS: applying it twice fails, so a double application cannot go unnoticed.
  { id: '001_calls', sql: 'CREATE TABLE calls (sid text PRIMARY KEY); SELECT pg_sleep(0.3);' },
  { id: '002_seed', sql: "INSERT INTO calls VALUES ('CA-seed')" },
];

describe('runMigrations', () => {
  let db: PostgresForTests;
  let pools: pg.Pool[];

  beforeEach(async () => {
    db = await postgresForTests();
    pools = [];
  });
  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await db.stop();
  });

  function pool(): pg.Pool {
    const created = createPool(db.baseUrl, { max: 2 });
    pools.push(created);
    return created;
  }

  const options = (migrations: Migration[]) => ({
    table: 'schema_migrations',
    schema: db.schema,
    migrations,
  });

  it('applies pending migrations in the given schema, then nothing on the next run', async () => {
    const p = pool();
    expect(await runMigrations(p, options(MIGRATIONS))).toEqual({
      applied: ['001_calls', '002_seed'],
      alreadyApplied: [],
    });
    expect(await runMigrations(p, options(MIGRATIONS))).toEqual({
      applied: [],
      alreadyApplied: ['001_calls', '002_seed'],
    });

    const { rows } = await p.query(`SELECT sid FROM "${db.schema}".calls`);
    expect(rows).toEqual([{ sid: 'CA-seed' }]);
    const recorded = await p.query(
      `SELECT id, length(checksum) AS len FROM "${db.schema}".schema_migrations ORDER BY id`,
    );
    expect(recorded.rows).toEqual([
      { id: '001_calls', len: 64 },
      { id: '002_seed', len: 64 },
    ]);
  });

  it('applies each migration once when two replicas start at the same time', async () => {
    const [a, b] = await Promise.all([
      runMigrations(pool(), options(MIGRATIONS)),
      runMigrations(pool(), options(MIGRATIONS)),
    ]);
    expect([a.applied, b.applied].sort()).toEqual([[], ['001_calls', '002_seed']]);
    const { rows } = await pools[0]!.query(`SELECT count(*)::int AS c FROM "${db.schema}".calls`);
    expect(rows).toEqual([{ c: 1 }]);
  });

  it('refuses to run when an applied migration was edited, and changes nothing', async () => {
    const p = pool();
    await runMigrations(p, options(MIGRATIONS.slice(0, 1)));
    const edited = [
      { id: '001_calls', sql: 'CREATE TABLE calls (sid text PRIMARY KEY, extra int)' },
      MIGRATIONS[1]!,
    ];

    const error = await runMigrations(p, options(edited)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationChecksumError);
    expect(error).toMatchObject({ migrationId: '001_calls', retryable: false });
    expect((error as Error).message).toMatch(/"001_calls" was changed after it was applied/);
    const { rows } = await p.query(`SELECT count(*)::int AS c FROM "${db.schema}".calls`);
    expect(rows).toEqual([{ c: 0 }]); // 002_seed was not applied
  });

  it('rolls back the whole run when one migration fails', async () => {
    const p = pool();
    const broken = [MIGRATIONS[0]!, { id: '002_broken', sql: 'CREATE TABLE oops (' }];
    const error = await runMigrations(p, options(broken)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ code: '42601', retryable: false });
    expect((error as Error).message).toMatch(/migration "002_broken" failed/);
    const { rows } = await p.query(`SELECT to_regclass('"${db.schema}".calls') AS calls`);
    expect(rows).toEqual([{ calls: null }]);
  });

  it('puts unqualified objects on the search_path when no schema is given', async () => {
    const p = createPool(db.url); // search_path = the test schema
    pools.push(p);
    await runMigrations(p, {
      table: 'migrations_here',
      migrations: [{ id: '1', sql: 'CREATE TABLE here (x int)' }],
    });
    const { rows } = await p.query<{ schema: string }>(
      "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name IN ('here', 'migrations_here')",
    );
    expect(rows.map((r) => r.schema)).toEqual([db.schema, db.schema]);
  });

  it('rejects duplicate ids before touching the database', async () => {
    await expect(
      runMigrations(pool(), options([MIGRATIONS[0]!, { id: '001_calls', sql: 'SELECT 1' }])),
    ).rejects.toThrow(/"001_calls" appears twice/);
  });
});

describe('runMigrations on the embedded PGlite server', () => {
  it('applies each migration once when three services start together', { timeout: 120_000 }, async () => {
    const server = await startEmbeddedPostgres();
    const pools = [1, 2, 3].map(() => createPool(server.url, { max: 1 }));
    try {
      const results = await Promise.all(
        pools.map((p) =>
          runMigrations(p, { table: 'schema_migrations', schema: 'app', migrations: MIGRATIONS }),
        ),
      );
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 2]);
      const { rows } = await pools[0]!.query('SELECT count(*)::int AS c FROM app.calls');
      expect(rows).toEqual([{ c: 1 }]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await server.stop();
    }
  });
});
