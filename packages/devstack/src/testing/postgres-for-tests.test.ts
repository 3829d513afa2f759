import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresAnswers, postgresForTests, withSearchPath } from './postgres-for-tests.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('postgresForTests', () => {
  it('gives a fresh schema that unqualified names land in, and drops it on stop', async () => {
    const db = await postgresForTests();
    await query(db.url, 'CREATE TABLE widgets (id int)');
    const tables = await query<{ schema: string }>(
      db.baseUrl,
      "SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'widgets'",
    );
    expect(tables.map((t) => t.schema)).toContain(db.schema);

    await db.stop();
    const schemas = await query(db.baseUrl, `SELECT 1 FROM pg_namespace WHERE nspname = '${db.schema}'`);
    expect(schemas).toEqual([]);
  });

  it('gives each call its own schema', async () => {
    const [a, b] = await Promise.all([postgresForTests(), postgresForTests()]);
    expect(a.schema).not.toBe(b.schema);
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('postgresAnswers', () => {
  it('is true only where a connection and a query succeed, not merely a port that is open', async () => {
    const db = await postgresForTests();
    try {
      const missing = new URL(db.baseUrl);
      missing.pathname = '/no_such_database';
      expect(await postgresAnswers(db.baseUrl)).toBe(true);
      expect(await postgresAnswers(missing.toString())).toBe(false);
    } finally {
      await db.stop();
    }
  });
});

describe('withSearchPath', () => {
  it('keeps the rest of the URL', () => {
    const url = new URL(withSearchPath('postgres://u:p@h:5433/db?application_name=x', 'abc'));
    expect(url.searchParams.get('application_name')).toBe('x');
    expect(url.searchParams.get('options')).toBe('-c search_path=abc');
    expect(`${url.username}@${url.host}${url.pathname}`).toBe('u@h:5433/db');
  });
});
