import { loadConfig, pickVariables } from '@calltx/config';
import { createLogger, RUNTIME_VARIABLES, startupFailure } from '@calltx/runtime';
import { runMigrations, type MigrationOptions } from './migrations.js';
import { createPool, databaseConnection } from './pool.js';
import { DATABASE_VARIABLES } from './variables.js';

/** What a migration entry (`services/<name>/dist/migrate.js`, run by the deployment's migration Job) reads. */
export const MIGRATE_VARIABLES = {
  ...DATABASE_VARIABLES,
  ...pickVariables(RUNTIME_VARIABLES, ['LOG_LEVEL', 'LOG_FORMAT']),
};

/**
 * The body of a service's migrate entry: apply its migrations and exit. Services also migrate at start (the
 * advisory lock makes that safe); the Job lets operators migrate before rolling out.
 */
export function runMigrationEntry(
  service: string,
  migrations: Pick<MigrationOptions, 'table' | 'migrations'>,
): void {
  const name = `${service}-migrate`;
  void (async () => {
    const config = loadConfig(MIGRATE_VARIABLES);
    const logger = createLogger({ service: name, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
    const pool = createPool(databaseConnection(config), { applicationName: name, max: 1 });
    try {
      const result = await runMigrations(pool, migrations);
      logger.info({ applied: result.applied, alreadyApplied: result.alreadyApplied }, 'migrations done');
    } finally {
      await pool.end();
    }
  })().catch((error: unknown) => startupFailure(name, error));
}
