import { postgresForTests, type PostgresForTests } from '@calltx/devstack';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemas } from '@calltx/events';
import { DatabaseError, toDatabaseError } from './database-error.js';
import { createPool } from './pool.js';

describe('DatabaseError for values Postgres refuses', () => {
  let db: PostgresForTests;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await postgresForTests();
    pool = createPool(db.url, { max: 1, applicationName: 'calltx-db-error-test' });
  });
  afterAll(async () => {
    await pool.end();
    await db.stop();
  });

  const refusal = async (sql: string, params: unknown[]) => {
    const error = await pool.query(sql, params).then(
      () => undefined,
      (cause: unknown) => toDatabaseError('probe', cause),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    return error as DatabaseError;
  };

  it.each([
    ['year 0000', 'SELECT $1::timestamptz', ['0000-01-01T00:00:00Z'], '22008'],
    ['an offset beyond ±15:59', 'SELECT $1::timestamptz', ['2025-01-01T00:00:00+23:59'], '22009'],
    ['a NUL in text', 'SELECT $1::text', ['a\u0000b'], '22021'],
    ['a malformed number', 'SELECT $1::int', ['twelve'], '22P02'],
  ])('%s is refused input: not retryable', async (_, sql, params, code) => {
    const error = await refusal(sql, params);
    expect(error.code).toBe(code);
    expect(error.refusedInput).toBe(true);
    expect(error.retryable).toBe(false);
  });

  it('a serialization failure is not refused input, and is retryable', async () => {
    const error = await refusal(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`, []);
    expect(error.refusedInput).toBe(false);
    expect(error.retryable).toBe(true);
  });

  it('the edge check for times accepts exactly what timestamptz takes at its limits', async () => {
    const times = [
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999999-15:59',
      '2025-01-01T00:00:00+15:59',
      '2025-01-01T00:00:00+16:00',
      '2025-01-01T00:00:00-23:59',
    ];
    for (const time of times) {
      const postgresTakesIt = await pool.query('SELECT $1::timestamptz', [time]).then(
        () => true,
        () => false,
      );
      expect({ time, accepted: schemas.isoTime.safeParse(time).success }).toEqual({
        time,
        accepted: postgresTakesIt,
      });
      expect(schemas.withinPostgresRange(time)).toBe(postgresTakesIt);
    }
  });
});
