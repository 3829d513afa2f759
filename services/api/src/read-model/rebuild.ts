import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventsClient, type Subscription } from '@calltx/events-client';
import { DatabaseError, runMigrations, type MigrationResult, type Pool } from '@calltx/db';
import { type Logger } from '@calltx/runtime';
import { type Subjects } from '@calltx/events';
import { API_MIGRATIONS, MIGRATIONS_TABLE, READ_MODEL_TABLES } from './migrations.js';
import { ReadModelProjector } from './projector.js';

export const migrateReadModel = (pool: Pool): Promise<MigrationResult> =>
  runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: API_MIGRATIONS });

export interface RebuildDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  subjects: Subjects;
  pool: Pool;
  logger: Logger;
}

/**
 * Drops the read model, creates it empty and replays the public streams into it from their first message, each
 * through an ordered consumer of its own, up to the last message stored when the replay began. The service's
 * durable consumers are left alone: replicas still running go on applying new events meanwhile, which is safe
 * because every event applies idempotently and each column has one owning event (recordings' statuses only move
 * forward). What the streams no longer hold (older than their retention, STREAM_POLICIES) is not rebuilt.
 */
export async function rebuildReadModel(deps: RebuildDeps): Promise<void> {
  const { pool, logger } = deps;
  await pool.query(`DROP TABLE IF EXISTS ${READ_MODEL_TABLES.join(', ')}`);
  await migrateReadModel(pool);
  logger.info({}, 'read model dropped and created empty, replaying the streams');
  const projector = new ReadModelProjector(pool);
  const skipped =
    (await replay(
      deps,
      'calls',
      (c) => c.callEvents({ startAt: 'start' }),
      (e) => projector.call(e),
    )) +
    (await replay(
      deps,
      'recordings',
      (c) => c.recordingEvents({ startAt: 'start' }),
      (e) => projector.recording(e),
    )) +
    // Partials too: the stream's last message may be one (the projector ignores them).
    (await replay(
      deps,
      'transcripts',
      (c) => c.transcripts({ startAt: 'start' }),
      (e) => projector.transcript(e),
    ));
  logger.info({ skipped }, 'read model rebuilt');
}

/**
 * Applies a family's events up to the last one stored now; returns how many were skipped: invalid ones (the
 * client skips them) and ones Postgres refuses for good (dead-lettered when they came live).
 */
async function replay<E>(
  { nc, jsm, subjects, logger }: RebuildDeps,
  family: 'calls' | 'recordings' | 'transcripts',
  open: (client: EventsClient) => Promise<Subscription<E>>,
  apply: (event: E) => Promise<void>,
): Promise<number> {
  const last = (await jsm.streams.info(subjects.streamName(family))).state.last_seq;
  if (last === 0) return 0;
  let skipped = 0;
  const client = new EventsClient(nc, {
    subjectPrefix: subjects.prefix,
    onInvalid: ({ sequence }) => {
      skipped += 1;
      // The last message being invalid, nothing more will come (called while iterating, once opened).
      if (sequence >= last) void subscription.close();
    },
  });
  const subscription = await open(client);
  try {
    for await (const { event, sequence } of subscription) {
      try {
        await apply(event);
      } catch (error) {
        if (!(error instanceof DatabaseError) || error.retryable) throw error;
        skipped += 1;
        logger.warn({ err: error, stream: subscription.stream, sequence }, 'event refused, skipped');
      }
      if (sequence >= last) break;
    }
  } finally {
    await subscription.close();
  }
  return skipped;
}
