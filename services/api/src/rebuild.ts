import { jetstreamManager } from '@nats-io/jetstream';
import { Subjects } from '@calltx/events';
import { connectNats, whileJetStreamUnavailable, natsConnectionConfig } from '@calltx/nats';
import { createLogger, startupFailure } from '@calltx/runtime';
import { createPool, databaseConnection } from '@calltx/db';
import { loadConfig } from '@calltx/config';
import { REBUILD_VARIABLES } from './config.js';
import { rebuildReadModel } from './read-model/rebuild.js';

/**
 * `pnpm api:rebuild`: drops the api's read model and rebuilds it from the public streams, then exits. Safe while
 * the api runs (docs/deploy.md, "Rebuilding the api's read model").
 */
const NAME = 'api-rebuild';

async function main(): Promise<void> {
  const config = loadConfig(REBUILD_VARIABLES);
  const logger = createLogger({ service: NAME, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const pool = createPool(databaseConnection(config), { applicationName: NAME, max: 2 });
  const nats = await connectNats({ ...natsConnectionConfig(config), name: NAME, logger });
  try {
    await rebuildReadModel({
      nc: nats.nc,
      jsm: await whileJetStreamUnavailable('JetStream API', () => jetstreamManager(nats.nc), { logger }),
      subjects: new Subjects(config.NATS_SUBJECT_PREFIX),
      pool,
      logger,
    });
  } finally {
    await nats.nc.drain();
    await pool.end();
  }
}

main().catch((error: unknown) => startupFailure(NAME, error));
