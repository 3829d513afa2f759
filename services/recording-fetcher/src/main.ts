import { Subjects } from '@calltx/events';
import { startJetStream, natsConnectionConfig } from '@calltx/nats';
import { createLogger, createMetricsRegistry, createShutdown, startupFailure } from '@calltx/runtime';
import { createPool, runMigrations, databaseConnection } from '@calltx/db';
import { createFetcherStore, createRecordingFetcher } from './app.js';
import { loadFetcherConfig } from './config.js';
import { MIGRATIONS_TABLE, RECORDING_MIGRATIONS } from './db/migrations.js';

const SERVICE = 'recording-fetcher';

async function main(): Promise<void> {
  const config = loadFetcherConfig();
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const registry = createMetricsRegistry(SERVICE);
  const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);

  const { nats, jsm, js } = await startJetStream({
    ...natsConnectionConfig(config),
    name: SERVICE,
    logger,
    subjects,
    families: ['calls', 'recordings', 'transcribe', 'transcripts', 'deadletter', 'erasure'],
    replicas: config.NATS_STREAM_REPLICAS,
  });

  const pool = createPool(databaseConnection(config), {
    applicationName: SERVICE,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
  });
  await runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: RECORDING_MIGRATIONS });
  const store = createFetcherStore(config);
  await store.ensureBucket();

  const fetcher = createRecordingFetcher({
    config,
    js,
    jsm,
    subjects,
    pool,
    store,
    logger,
    registry,
    isNatsConnected: nats.isConnected,
  });
  await fetcher.start();
  const port = await fetcher.http.listen(config.PORT);
  logger.info({ port }, 'recording-fetcher listening');

  // Fetches in flight get most of the grace period; then they are abandoned and redelivered elsewhere.
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.add('consumer', () => fetcher.stop(config.SHUTDOWN_GRACE_MS * 0.6));
  shutdown.add('http', () => fetcher.http.close());
  shutdown.add('nats', () => nats.nc.drain());
  shutdown.add('postgres', () => pool.end());
  shutdown.installSignalHandlers();
}

main().catch((error: unknown) => startupFailure(SERVICE, error));
