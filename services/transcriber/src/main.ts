import { Subjects } from '@calltx/events';
import { startJetStream, natsConnectionConfig } from '@calltx/nats';
import { createLogger, createMetricsRegistry, createShutdown, startupFailure } from '@calltx/runtime';
import { createObjectStore, objectStoreConfig } from '@calltx/storage';
import { createPool, runMigrations, databaseConnection } from '@calltx/db';
import { createTranscriber } from './app.js';
import { loadTranscriberConfig } from './config.js';
import { MIGRATIONS_TABLE, TRANSCRIBER_MIGRATIONS } from './db/migrations.js';

const SERVICE = 'transcriber';

async function main(): Promise<void> {
  // 1. Configuration: every problem at once, or exit.
  const config = loadTranscriberConfig();
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const registry = createMetricsRegistry(SERVICE);
  const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);

  // 2. Connections: JetStream streams, Postgres (migrated), the object store holding recordings.
  const { nats, jsm, js } = await startJetStream({
    ...natsConnectionConfig(config),
    name: SERVICE,
    logger,
    subjects,
    families: ['calls', 'audio', 'transcribe', 'transcripts', 'deadletter', 'erasure'],
    replicas: config.NATS_STREAM_REPLICAS,
  });
  const pool = createPool(databaseConnection(config), {
    applicationName: SERVICE,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
  });
  await runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: TRANSCRIBER_MIGRATIONS });
  const objects = createObjectStore(objectStoreConfig(config));

  // 3. Health endpoints first, so /readyz can say why the model is not loaded; 4. model, then consumers.
  const transcriber = createTranscriber({
    config,
    js,
    jsm,
    subjects,
    pool,
    objects,
    logger,
    registry,
    isNatsConnected: nats.isConnected,
    nc: nats.nc,
  });
  const port = await transcriber.http.listen(config.PORT);
  logger.info({ port, modelDir: config.WHISPER_MODEL_DIR }, 'transcriber listening');
  await transcriber.start();

  // 5. Shutdown: stop taking work, let running inferences finish, then close connections.
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.add('consumers', () => transcriber.stop(config.SHUTDOWN_GRACE_MS * 0.6));
  shutdown.add('http', () => transcriber.http.close());
  shutdown.add('nats', () => nats.nc.drain());
  shutdown.add('postgres', () => pool.end());
  shutdown.installSignalHandlers();
}

main().catch((error: unknown) => startupFailure(SERVICE, error));
