import { createLogger, createPool, loadConfig, runMigrations, startupFailure } from '@calltx/shared';
import { MIGRATIONS_TABLE, RECORDING_MIGRATIONS } from './db/migrations.js';

const SERVICE = 'recording-fetcher-migrate';

/** Applies the `recordings` schema and exits (the deploy's migration Job; the service also migrates at start). */
async function migrate(): Promise<void> {
  const config = loadConfig(['DATABASE_URL', 'LOG_LEVEL', 'LOG_FORMAT']);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const pool = createPool(config.DATABASE_URL, { max: 1 });
  try {
    const result = await runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: RECORDING_MIGRATIONS });
    logger.info(result, 'migrations done');
  } finally {
    await pool.end();
  }
}

migrate().catch((error: unknown) => startupFailure(SERVICE, error));
