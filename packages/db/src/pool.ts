import pg from 'pg';
import { DatabaseError } from './database-error.js';

export interface PoolOptions {
  /** Most connections the pool opens (default 10). Against the embedded PGlite server, 1–2 suffice. */
  max?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** How long to wait for a free or new connection before failing (default 10 s). */
  connectionTimeoutMillis?: number;
  /** Told about errors of idle connections (e.g. Postgres restarted); the pool has already dropped them. */
  onIdleError?: (error: DatabaseError) => void;
}

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(databaseUrl: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
  });
  // Without a listener, an idle connection's error (server restart, network cut) would crash the process.
  pool.on('error', (error) => options.onIdleError?.(new DatabaseError('idle connection', error)));
  return pool;
}
