import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventsClient, type Subscription } from '@calltx/events-client';
import { DatabaseError, runMigrations, type MigrationResult, type Pool } from '@calltx/db';
import { type Logger } from '@calltx/runtime';
import { InvalidMessageError, decodeEvent, type Subjects } from '@calltx/events';
import { CallParties } from '@calltx/events/internal';
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
 * Drops the read model, creates it empty and replays the public streams (and the internal parties) into it from their first message, each
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
    )) +
    (await replayParties(deps, projector));
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

/**
 * The internal parties (clear numbers, only with the gateway's STORE_CALLER_NUMBERS), which the public client
 * does not read: an ordered consumer of its own up to the last message stored now. Skips as `replay` does.
 */
async function replayParties(
  { nc, jsm, subjects, logger }: RebuildDeps,
  projector: ReadModelProjector,
): Promise<number> {
  const stream = subjects.streamName('parties');
  const last = (await jsm.streams.info(stream)).state.last_seq;
  if (last === 0) return 0;
  let skipped = 0;
  const messages = await (await jetstream(nc).consumers.get(stream)).consume();
  try {
    for await (const msg of messages) {
      try {
        await projector.parties(decodeEvent(CallParties, msg.data, `message on ${msg.subject}`));
      } catch (error) {
        const refused =
          error instanceof InvalidMessageError || (error instanceof DatabaseError && !error.retryable);
        if (!refused) throw error;
        skipped += 1;
        logger.warn({ err: error, stream, sequence: msg.seq }, 'event refused, skipped');
      }
      if (msg.seq >= last) break;
    }
  } finally {
    await messages.close();
  }
  return skipped;
}
