import { Subjects } from '@calltx/events';
import { startJetStream } from '@calltx/nats';
import { createLogger, createMetricsRegistry, createShutdown, startupFailure } from '@calltx/runtime';
import { createObjectStore, objectStoreConfig } from '@calltx/storage';
import { createPool } from '@calltx/db';
import { loadApiConfig } from './api/index.js';
import { createGateway } from './app.js';
import { loadGatewayConfig } from './config.js';
import { mountConsoleAndApi } from './console/index.js';

const SERVICE = 'gateway';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const apiConfig = loadApiConfig();
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const registry = createMetricsRegistry(SERVICE);
  const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);

  const { nats, js } = await startJetStream({
    url: config.NATS_URL,
    name: SERVICE,
    logger,
    subjects,
    families: ['calls', 'media', 'recordings', 'transcripts'],
    replicas: config.NATS_STREAM_REPLICAS,
  });

  const gateway = createGateway({
    config,
    nc: nats.nc,
    js,
    subjects,
    logger,
    registry,
    isNatsConnected: nats.isConnected,
  });
  // The console and read API only read what the other services store.
  const pool = createPool(config.DATABASE_URL, { applicationName: SERVICE, max: 5 });
  const objectStore = createObjectStore(objectStoreConfig(config));
  const consoleAndApi = mountConsoleAndApi(gateway.http.app, {
    config: apiConfig,
    pool,
    objectStore,
    nc: nats.nc,
    subjects,
    logger,
    twilioAccountSid: config.TWILIO_ACCOUNT_SID,
    registry,
  });
  const port = await gateway.http.listen(config.PORT);
  logger.info({ port, publicBaseUrl: config.PUBLIC_BASE_URL }, 'gateway listening');

  // Streams get most of the grace period to end by themselves; the rest finishes and stores their frames.
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.add('stop intake', async () => gateway.stopIntake());
  shutdown.add('live event streams', () => consoleAndApi.close());
  shutdown.add('media streams', () => gateway.closeStreams(config.SHUTDOWN_GRACE_MS * 0.5));
  shutdown.add('http', () => gateway.closed());
  shutdown.add('postgres', () => pool.end());
  shutdown.add('nats', () => nats.nc.drain());
  shutdown.installSignalHandlers();
}

main().catch((error: unknown) => startupFailure(SERVICE, error));
