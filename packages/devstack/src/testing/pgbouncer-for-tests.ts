import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findExecutable,
  freePort,
  postgresAccount,
  spawnGuarded,
  terminate,
  waitForLogLine,
} from '../child-server.js';

export interface PgBouncerForTestsOptions {
  /** The Postgres behind it (postgresForTests' `baseUrl`): no `options` parameter, PgBouncer refuses those. */
  databaseUrl: string;
  /** Set on every server connection PgBouncer opens, so unqualified names land in the test's schema. */
  schema?: string;
  /** Server connections PgBouncer keeps for all its clients (default 2: fewer than the clients' pools). */
  poolSize?: number;
}

export interface PgBouncerForTests {
  /** Through PgBouncer, pool_mode=transaction, to the database (and schema) given. */
  url: string;
  /** PgBouncer's admin console (database `pgbouncer`): SHOW POOLS, SHOW SERVERS, SHOW CLIENTS. */
  adminUrl: string;
  /** The database name clients use (as in SHOW POOLS). */
  database: string;
  stop(): Promise<void>;
}

const PGBOUNCER_LOCATIONS = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];
const START_ATTEMPTS = 3;

/**
 * A private PgBouncer in transaction pooling mode in front of a test database, as production may run one
 * (CloudNativePG's Pooler): every transaction may run on a different server connection, and server connections
 * are shared between clients, so any session state a service relies on breaks here.
 *
 * The usual per-schema URL sets `search_path` with the `options` startup parameter, which PgBouncer refuses;
 * instead PgBouncer's own `connect_query` sets it on each server connection it opens for this database (the
 * same for all of them, so it is configuration, not state a client left behind).
 */
export async function pgbouncerForTests(options: PgBouncerForTestsOptions): Promise<PgBouncerForTests> {
  const binary = findExecutable(
    'pgbouncer',
    'Install it with `apt-get install -y pgbouncer` (scripts/setup.sh does).',
    process.env.PATH ?? '',
    PGBOUNCER_LOCATIONS,
  );
  const target = new URL(options.databaseUrl);
  if (target.searchParams.has('options')) {
    throw new RangeError('pgbouncerForTests: give the database URL without `options`; set `schema` instead');
  }
  const user = decodeURIComponent(target.username) || 'postgres';
  const database = 'calltx_test';
  const account = await postgresAccount();
  const dir = await mkdtemp(join(tmpdir(), 'calltx-pgbouncer-'));
  if (account) await chown(dir, account.uid, account.gid);

  const server = [
    `host=${target.hostname}`,
    `port=${target.port || '5432'}`,
    `dbname=${decodeURIComponent(target.pathname.slice(1)) || user}`,
    `user=${user}`,
    target.password ? `password=${decodeURIComponent(target.password)}` : '',
    options.schema ? `connect_query='SET search_path TO "${options.schema}"'` : '',
  ].filter(Boolean);
  await writeFile(join(dir, 'userlist.txt'), `"${user}" ""\n`);

  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    await writeFile(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${database} = ${server.join(' ')}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        `admin_users = ${user}`,
        'pool_mode = transaction',
        `default_pool_size = ${options.poolSize ?? 2}`,
        'max_client_conn = 500',
        '',
      ].join('\n'),
    );
    const child = spawnGuarded(binary, [join(dir, 'pgbouncer.ini')], account ?? {});
    try {
      await waitForLogLine(child, 'pgbouncer', /process up/, 10_000);
    } catch (error) {
      await terminate(child);
      // Another process took the port between our probe and PgBouncer's bind: try another.
      if (attempt < START_ATTEMPTS && /Address already in use/.test((error as Error).message)) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`,
      adminUrl: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer`,
      database,
      stop: () =>
        (stopping ??= (async () => {
          await terminate(child);
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  }
}
