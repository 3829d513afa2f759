import pg from 'pg';
import { EmbeddedServerError } from '../errors.js';
import { startLocalPostgres } from '../postgres/local-postgres.js';
import { isDockerReachable, startPostgresContainer } from './docker.js';
import { uniqueName } from './unique-name.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface PostgresForTests {
  /** The database URL with `search_path` set to `schema`, so unqualified names land in the test schema. */
  url: string;
  /** The database URL as found (env, local default or container), without the search_path option. */
  baseUrl: string;
  /** A fresh schema, unique to this call; dropped (CASCADE) by stop(). */
  schema: string;
  stop(): Promise<void>;
}

let databaseUrl: Promise<string> | undefined;

/**
 * A fresh schema in a real Postgres: $DATABASE_URL if set; else the local default if it answers; else a
 * Docker container when a Docker engine is reachable; else a private cluster of Debian's PostgreSQL (installed
 * first if missing and this process is root), kept for this process's lifetime.
 */
export async function postgresForTests(): Promise<PostgresForTests> {
  const baseUrl = await (databaseUrl ??= resolveDatabaseUrl());
  const schema = uniqueName('test');
  await runSql(baseUrl, `CREATE SCHEMA "${schema}"`);
  let stopping: Promise<void> | undefined;
  return {
    url: withSearchPath(baseUrl, schema),
    baseUrl,
    schema,
    stop: () => (stopping ??= runSql(baseUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
  };
}

async function resolveDatabaseUrl(): Promise<string> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return fromEnv;
  try {
    await runSql(DEFAULT_TEST_DATABASE_URL, 'SELECT 1');
    return DEFAULT_TEST_DATABASE_URL;
  } catch (error) {
    if (await isDockerReachable()) return startPostgresContainer();
    try {
      return (await startLocalPostgres({ install: true })).url;
    } catch (startError) {
      throw new EmbeddedServerError(
        `No Postgres for tests: DATABASE_URL is unset, ${DEFAULT_TEST_DATABASE_URL} does not answer, no ` +
          'Docker engine is reachable and no local cluster could be started. Set DATABASE_URL.',
        { cause: new AggregateError([error, startError]) },
      );
    }
  }
}

/**
 * Whether `url` takes a connection and a query: reachable, authenticated, database present. (A fresh Debian
 * `postgresql` listens on 5432 but asks for a password and has no database `test`.)
 */
export function postgresAnswers(url: string): Promise<boolean> {
  return runSql(url, 'SELECT 1').then(
    () => true,
    () => false,
  );
}

export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
