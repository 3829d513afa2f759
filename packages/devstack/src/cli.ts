import { writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { isReachable } from './reachable.js';
import { startEmbeddedNats } from './nats/embedded-nats.js';
import { startLocalPostgres } from './postgres/local-postgres.js';
import { DEFAULT_TEST_DATABASE_URL, postgresAnswers } from './testing/postgres-for-tests.js';

/**
 * `devstack up --write-env FILE`: makes NATS and PostgreSQL available for the test suite. A server named by
 * NATS_URL / DATABASE_URL, or answering on its standard local port (PostgreSQL: connection and query succeed), is
 * used as it is; otherwise one is started and kept running until this process gets SIGTERM: an embedded
 * nats-server, and a private cluster of Debian's PostgreSQL (installed first when missing). Never PGlite: its
 * single shared session would hide bugs a real server shows (PGlite stays the demo's embedded default). The env
 * file (shell syntax) is written once all are ready, so the caller can wait for it and source it.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'write-env': { type: 'string' } },
});
if (positionals[0] !== 'up' || !values['write-env']) {
  process.stderr.write('usage: devstack up --write-env <file>\n');
  process.exit(2);
}

const stops: Array<() => Promise<void>> = [];
const env: Record<string, string> = {};
const say = (line: string) => process.stderr.write(`[devstack] ${line}\n`);

const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
if (await isReachable(natsUrl.split(',')[0]!)) {
  env.NATS_URL = natsUrl;
} else {
  const nats = await startEmbeddedNats();
  stops.push(() => nats.stop());
  env.NATS_URL = nats.url;
  say(`started nats-server with JetStream at ${nats.url}`);
}

const databaseUrl = process.env.DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
if (await postgresAnswers(databaseUrl)) {
  env.DATABASE_URL = databaseUrl;
} else {
  const postgres = await startLocalPostgres({ install: true });
  stops.push(() => postgres.stop());
  env.DATABASE_URL = postgres.url;
  say(`started a PostgreSQL cluster at ${postgres.url}`);
}

const file = values['write-env'];
await mkdir(dirname(file), { recursive: true });
await writeFile(
  `${file}.tmp`,
  Object.entries(env)
    .map(([k, v]) => `export ${k}='${v}'\n`)
    .join(''),
);
await rename(`${file}.tmp`, file);

const shutdown = async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
if (stops.length === 0) process.exit(0);
