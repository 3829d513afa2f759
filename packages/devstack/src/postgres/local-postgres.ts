import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, postgresAccount, spawnGuarded, terminate, waitForLogLine } from '../child-server.js';
import { EmbeddedServerError } from '../errors.js';

const run = promisify(execFile);

/** Where Debian's postgresql packages put each major version's server binaries. */
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';

export interface LocalPostgresOptions {
  /** Cluster directory (initialised if empty); a temporary one, removed on stop, when unset. */
  dataDir?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** Database created for clients, as the test default expects (default `test`). */
  database?: string;
  /** When the server binaries are missing: install Debian's `postgresql` with apt-get (needs root). */
  install?: boolean;
  /**
   * TLS with this certificate and key (PEM files, copied into the cluster directory). With `only`, plaintext
   * TCP connections are refused (pg_hba.conf accepts `hostssl` only).
   */
  tls?: { certFile: string; keyFile: string; only?: boolean };
}

export interface LocalPostgres {
  /** postgres://postgres@127.0.0.1:<port>/<database>, trust authentication. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL cluster of its own, for a machine where none answers: Debian's server binaries (installed
 * first if allowed and missing), `initdb` into a private directory, and `postgres` listening on 127.0.0.1 only.
 * Postgres refuses to run as root, so as root both run as the `postgres` account. The server runs under the
 * guard of child-server.ts: it dies with this process.
 */
export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const bin = (await findDebianPostgres()) ?? (options.install ? await installDebianPostgres() : undefined);
  if (!bin) {
    throw new EmbeddedServerError(
      `PostgreSQL server binaries not found under ${DEBIAN_POSTGRES_ROOT}. Install them with ` +
        '`apt-get install -y postgresql`, or set DATABASE_URL to a running PostgreSQL.',
    );
  }
  const account = await postgresAccount();
  const ownDir =
    options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'calltx-postgres-')) : undefined;
  const dataDir = options.dataDir ?? ownDir!;
  const removeDir = async () => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (account) await chown(dataDir, account.uid, account.gid);
    if ((await readdir(dataDir)).length === 0) {
      await run(
        join(bin, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'],
        { ...account, cwd: dataDir },
      );
    }
  } catch (error) {
    await removeDir();
    throw new EmbeddedServerError(`initdb into ${dataDir} failed`, { cause: error });
  }

  const tlsArgs = options.tls ? await configureTls(dataDir, options.tls, account) : [];
  const port = options.port || (await freePort());
  // The socket directory is the data directory: /var/run/postgresql may not exist or be writable.
  const child = spawnGuarded(
    join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-k', dataDir, '-c', 'listen_addresses=127.0.0.1', ...tlsArgs],
    { ...account, cwd: dataDir },
  );
  const stop = async () => {
    await terminate(child);
    await removeDir();
  };
  const database = options.database ?? 'test';
  try {
    await waitForLogLine(child, 'postgres', /database system is ready to accept connections/, 60_000);
    await createDatabase(port, database, options.tls !== undefined);
  } catch (error) {
    await stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, stop: () => (stopping ??= stop()) };
}

/** The bin directory of the newest Debian-packaged PostgreSQL, if any. */
async function findDebianPostgres(): Promise<string | undefined> {
  const versions = await readdir(DEBIAN_POSTGRES_ROOT).catch(() => []);
  const newest = versions
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .find(Boolean);
  return newest === undefined ? undefined : join(DEBIAN_POSTGRES_ROOT, newest, 'bin');
}

async function installDebianPostgres(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) {
    throw new EmbeddedServerError(
      'No PostgreSQL answers and its server binaries are missing; installing them needs root. ' +
        'Run `sudo apt-get install -y postgresql`, or set DATABASE_URL.',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', ['update', '-qq'], { env });
    await run('apt-get', ['install', '-y', '-qq', 'postgresql'], { env });
  } catch (error) {
    throw new EmbeddedServerError('apt-get install postgresql failed', { cause: error });
  }
  return findDebianPostgres();
}

/**
 * Puts the certificate and key where postgres reads them (it refuses a key others can read) and returns the
 * server arguments that turn TLS on.
 */
async function configureTls(
  dataDir: string,
  tls: NonNullable<LocalPostgresOptions['tls']>,
  account: { uid: number; gid: number } | undefined,
): Promise<string[]> {
  const certFile = join(dataDir, 'calltx-server.crt');
  const keyFile = join(dataDir, 'calltx-server.key');
  await copyFile(tls.certFile, certFile);
  await copyFile(tls.keyFile, keyFile);
  await chmod(keyFile, 0o600);
  if (account) {
    await chown(certFile, account.uid, account.gid);
    await chown(keyFile, account.uid, account.gid);
  }
  if (tls.only) {
    await writeFile(
      join(dataDir, 'pg_hba.conf'),
      'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n',
    );
  }
  return ['-c', 'ssl=on', '-c', `ssl_cert_file=${certFile}`, '-c', `ssl_key_file=${keyFile}`];
}

async function createDatabase(port: number, database: string, tls: boolean): Promise<void> {
  // Its own server, just started: encrypted when TLS is on, with no need to check whose it is.
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    ssl: tls ? { rejectUnauthorized: false } : false,
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
