import { setTimeout as sleep } from 'node:timers/promises';
import { CalltxError, runMigrations, type MigrationResult, type Pool } from '@calltx/shared';
import { deleteReadModelConsumers, startReadModelFeed, type ReadModelDeps } from './consumers.js';
import { API_MIGRATIONS, MIGRATIONS_TABLE, READ_MODEL_TABLES } from './migrations.js';

export const migrateReadModel = (pool: Pool): Promise<MigrationResult> =>
  runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: API_MIGRATIONS });

export interface RebuildOptions {
  /** Give up (and throw) when the streams are not replayed by then. */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Drops the read model and replays the public streams into it from their first message: the consumers go first
 * (replicas still running stop receiving), then the tables, which are created again empty; the consumers come
 * back from the start and this process feeds them until every stored event is handled. Replicas still running
 * pull from the new consumers too, which is safe since every event applies idempotently. What the streams no
 * longer hold (older than their retention, STREAM_POLICIES) is not rebuilt.
 */
export async function rebuildReadModel(deps: ReadModelDeps, options: RebuildOptions = {}): Promise<void> {
  const { pool, jsm, subjects, logger } = deps;
  await deleteReadModelConsumers(jsm, subjects);
  await pool.query(`DROP TABLE IF EXISTS ${READ_MODEL_TABLES.join(', ')}`);
  await migrateReadModel(pool);
  logger.info({}, 'read model dropped and created empty, replaying the streams');
  const feed = await startReadModelFeed(deps);
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  try {
    while (!(await feed.caughtUp())) {
      if (Date.now() > deadline) throw new CalltxError('the streams were not replayed in time', { retryable: true });
      await sleep(options.pollMs ?? 250);
    }
  } finally {
    await feed.stop();
  }
  logger.info({}, 'read model rebuilt');
}
