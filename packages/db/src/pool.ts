import pg from 'pg';
import { parse, toClientConfig } from 'pg-connection-string';
import { ConfigError } from '@calltx/config';
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

/** Where and how to connect: DATABASE_URL and DATABASE_SSL_CA. */
export interface DatabaseConnection {
  /** A postgres:// URL; its `sslmode` has libpq's meaning. */
  url: string;
  /** PEM file of the CA that signs the server's certificate; without an sslmode in `url`, verify-full. */
  sslCaFile?: string | undefined;
}

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** A service's connection from its DATABASE_* variables (docs/configuration.md). */
export function databaseConnection(config: {
  DATABASE_URL: string;
  DATABASE_SSL_CA?: string | undefined;
}): DatabaseConnection {
  return { url: config.DATABASE_URL, sslCaFile: config.DATABASE_SSL_CA };
}

/**
 * node-postgres settings for a connection, with libpq's sslmode meanings (require: encrypted, unverified unless
 * a CA is given; verify-ca: the CA signed it; verify-full: and the host name matches).
 *
 * Not `connectionString`: node-postgres lets the string's ssl settings replace an `ssl` option given beside it
 * (a CA passed that way is dropped), and before v9 it reads require and verify-ca as verify-full. So the URL is
 * parsed here, in libpq mode, with the CA file as its `sslrootcert`.
 */
export function pgConnectionConfig(connection: DatabaseConnection | string): pg.ClientConfig {
  const { url, sslCaFile } = typeof connection === 'string' ? { url: connection } : connection;
  const parsed = new URL(url);
  const params = parsed.searchParams;
  if (sslCaFile !== undefined) {
    if (params.has('sslrootcert')) {
      throw new ConfigError(['DATABASE_SSL_CA and the sslrootcert of DATABASE_URL are both set: keep one']);
    }
    if (params.get('sslmode') === 'disable') {
      throw new ConfigError(['DATABASE_SSL_CA is set but DATABASE_URL says sslmode=disable']);
    }
    params.set('sslrootcert', sslCaFile);
    if (!params.has('sslmode')) params.set('sslmode', 'verify-full');
  }
  return toClientConfig(parse(parsed.toString(), { useLibpqCompat: true }));
}

export function createPool(connection: DatabaseConnection | string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    ...pgConnectionConfig(connection),
    max: options.max ?? 10,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
  });
  // Without a listener, an idle connection's error (server restart, network cut) would crash the process.
  pool.on('error', (error) => options.onIdleError?.(new DatabaseError('idle connection', error)));
  return pool;
}

/** The readiness check every service's `/readyz` names `postgres`: the pool gets a connection and an answer. */
export async function databaseAnswers(pool: pg.Pool): Promise<boolean> {
  return (await pool.query('SELECT 1')).rowCount === 1;
}
