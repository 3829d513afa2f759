import type pg from 'pg';
import { toDatabaseError } from './database-error.js';

const BEGIN = {
  'read committed': 'BEGIN ISOLATION LEVEL READ COMMITTED',
  'repeatable read': 'BEGIN ISOLATION LEVEL REPEATABLE READ',
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
} as const;

export interface TransactionOptions {
  /** Default: the server's (read committed). */
  isolationLevel?: keyof typeof BEGIN;
}

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled connection; rolls back if it throws. Database failures come
 * out as DatabaseError (serialization failures and lost connections are `retryable`); the caller's own
 * errors come out unchanged.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toDatabaseError('connect', error);
  }
  let broken: Error | undefined;
  try {
    await client.query(options.isolationLevel ? BEGIN[options.isolationLevel] : 'BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection is unusable: make the pool discard it rather than hand it out again.
      broken = rollbackError as Error;
    }
    throw toDatabaseError('transaction', error);
  } finally {
    client.release(broken);
  }
}
