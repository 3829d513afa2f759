import { Subjects } from '@calltx/events';
import { startJetStream, natsConnectionConfig } from '@calltx/nats';
import { createLogger, createMetricsRegistry, createShutdown, startupFailure } from '@calltx/runtime';
import { createGateway } from './app.js';
import { loadGatewayConfig } from './config.js';

const SERVICE = 'gateway';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const registry = createMetricsRegistry(SERVICE);
  const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);

  const { nats, js } = await startJetStream({
    ...natsConnectionConfig(config),
    name: SERVICE,
    logger,
    subjects,
    families: ['calls', 'media', 'recordings', 'parties'],
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
  const port = await gateway.http.listen(config.PORT);
  logger.info({ port, publicBaseUrl: config.PUBLIC_BASE_URL }, 'gateway listening');

  // Streams get most of the grace period to end by themselves; the rest finishes and stores their frames.
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.add('stop intake', async () => gateway.stopIntake());
  shutdown.add('media streams', () => gateway.closeStreams(config.SHUTDOWN_GRACE_MS * 0.5));
  shutdown.add('http', () => gateway.closed());
  shutdown.add('nats', () => nats.nc.drain());
  shutdown.installSignalHandlers();
}

main().catch((error: unknown) => startupFailure(SERVICE, error));
