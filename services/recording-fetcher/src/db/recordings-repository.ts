import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '@calltx/shared';
import type { ArchivedRecording } from '../archive/archive-recording.js';

export type RecordingRowStatus = 'in-progress' | 'completed' | 'absent' | 'failed' | 'stored';

export interface RecordingObjectRow {
  role: string;
  channel: 1 | 2 | null;
  key: string;
  bytes: number;
  sha256: string;
  durationMs: number;
}

export interface RecordingRow {
  recordingSid: string;
  callSid: string;
  status: RecordingRowStatus;
  twilioDurationSeconds: number | null;
  channels: number | null;
  sampleRate: number | null;
  durationMs: number | null;
  errorSource: 'twilio' | 'fetcher' | null;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  storedAt: Date | null;
  eventsPublishedAt: Date | null;
  twilioDeletedAt: Date | null;
  objects: RecordingObjectRow[];
}

export interface CallbackFacts {
  recordingSid: string;
  callSid: string;
  durationSeconds?: number | undefined;
  channels?: number | undefined;
  errorCode?: string | undefined;
}

/** Held while one delivery works on a recording; released on every path (a dead process releases it too). */
export interface RecordingLock {
  release(): Promise<void>;
}

const SELECT_ROW = `
  SELECT recording_sid, call_sid, status, twilio_duration_seconds, channels, sample_rate, duration_ms::float8 AS duration_ms,
         error_source, error_code, error_message, attempts, stored_at, events_published_at, twilio_deleted_at
    FROM recordings WHERE recording_sid = $1`;

/**
 * The `recordings` table: one row per RecordingSid whatever the number of callbacks, with the status moving
 * forward only (a late or repeated callback never undoes `stored`).
 */
export class RecordingsRepository {
  constructor(private readonly pool: pg.Pool) {}

  async noteInProgress(facts: CallbackFacts): Promise<void> {
    await this.pool.query(
      `INSERT INTO recordings (recording_sid, call_sid, status, channels) VALUES ($1, $2, 'in-progress', $3)
       ON CONFLICT (recording_sid) DO NOTHING`,
      [facts.recordingSid, facts.callSid, facts.channels ?? null],
    );
  }

  async noteCompleted(facts: CallbackFacts): Promise<void> {
    await this.pool.query(
      `INSERT INTO recordings (recording_sid, call_sid, status, twilio_duration_seconds, channels) VALUES ($1, $2, 'completed', $3, $4)
       ON CONFLICT (recording_sid) DO UPDATE
         SET status = CASE WHEN recordings.status = 'in-progress' THEN 'completed' ELSE recordings.status END,
             twilio_duration_seconds = COALESCE(excluded.twilio_duration_seconds, recordings.twilio_duration_seconds),
             channels = COALESCE(recordings.channels, excluded.channels),
             updated_at = now()`,
      [facts.recordingSid, facts.callSid, facts.durationSeconds ?? null, facts.channels ?? null],
    );
  }

  /** Twilio's own verdict (`absent`: nothing was recorded; `failed`): final unless the recording was stored. */
  async noteTwilioOutcome(facts: CallbackFacts, status: 'absent' | 'failed'): Promise<void> {
    await this.pool.query(
      `INSERT INTO recordings (recording_sid, call_sid, status, twilio_duration_seconds, error_source, error_code)
       VALUES ($1, $2, $3, $4, 'twilio', $5)
       ON CONFLICT (recording_sid) DO UPDATE
         SET status = excluded.status, error_source = 'twilio', error_code = excluded.error_code, error_message = NULL,
             twilio_duration_seconds = COALESCE(excluded.twilio_duration_seconds, recordings.twilio_duration_seconds),
             updated_at = now()
         WHERE recordings.status <> 'stored'`,
      [facts.recordingSid, facts.callSid, status, facts.durationSeconds ?? null, facts.errorCode ?? null],
    );
  }

  /**
   * A session-level advisory lock on a connection of its own: one delivery at a time per recording, across
   * replicas. If the holder dies, Postgres drops its session and the lock with it, so no lease has to expire.
   */
  async tryLock(recordingSid: string): Promise<RecordingLock | null> {
    const key = lockKey(recordingSid);
    const client = await this.pool.connect();
    // A broken connection while checked out must not crash the process; the query in flight fails instead.
    const onError = () => undefined;
    client.on('error', onError);
    const done = (broken: boolean) => {
      client.off('error', onError);
      client.release(broken);
    };
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::bigint) AS locked',
        [key],
      );
      if (!rows[0]?.locked) {
        done(false);
        return null;
      }
    } catch (error) {
      done(true);
      throw error;
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        try {
          await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
          done(false);
        } catch {
          // Dropping the connection releases the lock as well.
          done(true);
        }
      },
    };
  }

  async get(recordingSid: string): Promise<RecordingRow | null> {
    const { rows } = await this.pool.query<Record<string, unknown>>(SELECT_ROW, [recordingSid]);
    const row = rows[0];
    if (!row) return null;
    const objects = await this.pool.query<Record<string, unknown>>(
      `SELECT role, channel, object_key, bytes::float8 AS bytes, sha256, duration_ms::float8 AS duration_ms
         FROM recording_objects WHERE recording_sid = $1 ORDER BY channel NULLS FIRST`,
      [recordingSid],
    );
    return {
      recordingSid: row.recording_sid as string,
      callSid: row.call_sid as string,
      status: row.status as RecordingRowStatus,
      twilioDurationSeconds: row.twilio_duration_seconds as number | null,
      channels: row.channels as number | null,
      sampleRate: row.sample_rate as number | null,
      durationMs: row.duration_ms as number | null,
      errorSource: row.error_source as 'twilio' | 'fetcher' | null,
      errorCode: row.error_code as string | null,
      errorMessage: row.error_message as string | null,
      attempts: row.attempts as number,
      storedAt: row.stored_at as Date | null,
      eventsPublishedAt: row.events_published_at as Date | null,
      twilioDeletedAt: row.twilio_deleted_at as Date | null,
      objects: objects.rows.map((o) => ({
        role: o.role as string,
        channel: o.channel as 1 | 2 | null,
        key: o.object_key as string,
        bytes: o.bytes as number,
        sha256: o.sha256 as string,
        durationMs: o.duration_ms as number,
      })),
    };
  }

  async countAttempt(recordingSid: string): Promise<void> {
    await this.pool.query(
      'UPDATE recordings SET attempts = attempts + 1, updated_at = now() WHERE recording_sid = $1',
      [recordingSid],
    );
  }

  async markFailed(recordingSid: string, errorCode: string, errorMessage: string): Promise<void> {
    await this.pool.query(
      `UPDATE recordings SET status = 'failed', error_source = 'fetcher', error_code = $2, error_message = $3, updated_at = now()
        WHERE recording_sid = $1 AND status <> 'stored'`,
      [recordingSid, errorCode, errorMessage.slice(0, 1000)],
    );
  }

  /** Row and objects in one transaction: `stored` is never visible without its objects. */
  async markStored(recordingSid: string, archived: ArchivedRecording): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM recording_objects WHERE recording_sid = $1', [recordingSid]);
      for (const object of archived.objects) {
        await client.query(
          `INSERT INTO recording_objects (recording_sid, role, channel, object_key, bytes, sha256, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            recordingSid,
            object.role,
            object.channel,
            object.key,
            object.bytes,
            object.sha256,
            object.durationMs,
          ],
        );
      }
      await client.query(
        `UPDATE recordings SET status = 'stored', channels = 2, sample_rate = $2, duration_ms = $3,
                error_source = NULL, error_code = NULL, error_message = NULL, stored_at = now(), updated_at = now()
          WHERE recording_sid = $1`,
        [recordingSid, archived.sampleRate, archived.durationMs],
      );
    });
  }

  async markEventsPublished(recordingSid: string): Promise<void> {
    await this.pool.query(
      'UPDATE recordings SET events_published_at = now(), updated_at = now() WHERE recording_sid = $1',
      [recordingSid],
    );
  }

  async markDeletedAtTwilio(recordingSid: string): Promise<void> {
    await this.pool.query(
      'UPDATE recordings SET twilio_deleted_at = now(), updated_at = now() WHERE recording_sid = $1',
      [recordingSid],
    );
  }
}

/** 64-bit advisory lock key from the SID (namespaced, so other users of advisory locks don't collide). */
function lockKey(recordingSid: string): string {
  return createHash('sha256')
    .update(`recording-fetcher:${recordingSid}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}
