import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Subjects } from '@calltx/events';
import { connectNats, provisionStreams, whileJetStreamUnavailable, natsConnectionConfig } from '@calltx/nats';
import { createLogger, createMetricsRegistry, createShutdown, startupFailure } from '@calltx/runtime';
import { createObjectStore, objectStoreConfig } from '@calltx/storage';
import { createPool, databaseConnection } from '@calltx/db';
import { createApiService } from './app.js';
import { loadApiServiceConfig } from './config.js';
import { migrateReadModel } from './read-model/rebuild.js';

const SERVICE = 'api';

async function main(): Promise<void> {
  const config = loadApiServiceConfig();
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const registry = createMetricsRegistry(SERVICE);
  const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);

  const pool = createPool(databaseConnection(config), {
    applicationName: SERVICE,
    max: 10,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
  });
  await migrateReadModel(pool);
  // Presigns recording and stream-audio URLs only: the bucket is the other services' to create.
  const objectStore = createObjectStore(objectStoreConfig(config));

  const nats = await connectNats({ ...natsConnectionConfig(config), name: SERVICE, logger });
  const jsm = await whileJetStreamUnavailable('JetStream API', () => jetstreamManager(nats.nc), { logger });
  await provisionStreams(
    jsm,
    subjects,
    ['calls', 'recordings', 'transcripts', 'parties', 'deadletter', 'erasure'],
    logger,
    config.NATS_STREAM_REPLICAS,
  );

  const service = await createApiService({
    config: config.api,
    pool,
    objectStore,
    nc: nats.nc,
    js: jetstream(nats.nc),
    jsm,
    subjects,
    logger,
    registry,
    twilioAccountSid: config.TWILIO_ACCOUNT_SID,
    maxDeliver: config.DEADLETTER_MAX_DELIVER,
    isNatsConnected: nats.isConnected,
  });
  const port = await service.http.listen(config.PORT);
  logger.info({ port }, 'api listening');

  // Live streams first: they would otherwise hold the HTTP server open.
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.add('live event streams', () => service.consoleAndApi.close());
  shutdown.add('http', () => service.http.close());
  shutdown.add('read model consumers', () => service.readModel.stop());
  shutdown.add('erasures', async () => {
    await Promise.all([service.sweeper.stop(), service.erasures.stop()]);
  });
  shutdown.add('nats', () => nats.nc.drain());
  shutdown.add('postgres', () => pool.end());
  shutdown.installSignalHandlers();
}

main().catch((error: unknown) => startupFailure(SERVICE, error));
