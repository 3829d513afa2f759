import type pg from 'pg';
import { withTransaction } from '@calltx/db';
import type { ArchivedRecording } from '../archive/archive-recording.js';
import { RecordingLeaseLostError } from '../errors.js';

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

/** A redacted span of a recording final, in recording time. */
export interface AudioRedactionSpan {
  kind: string;
  startMs: number;
  endMs: number;
}

export interface CallbackFacts {
  recordingSid: string;
  callSid: string;
  durationSeconds?: number | undefined;
  channels?: number | undefined;
  errorCode?: string | undefined;
}

/** The row's lease belongs to the owner in parameter $2 and has not expired. */
const HELD_BY_2 = 'lease_owner = $2 AND lease_until > now()';

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
   * Takes the recording's lease for `owner` unless another delivery holds an unexpired one: one conditional
   * UPDATE, so concurrent claimers queue on the row and exactly one wins. The lease is row state, not session
   * state: it works the same through a transaction-mode pooler, on PGlite's single shared session, and after a
   * holder dies (its lease simply expires).
   */
  async claimLease(recordingSid: string, owner: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE recordings SET lease_owner = $2, lease_until = now() + $3::int * interval '1 millisecond'
        WHERE recording_sid = $1 AND (lease_until IS NULL OR lease_until <= now())`,
      [recordingSid, owner, ttlMs],
    );
    return rowCount === 1;
  }

  /** Extends `owner`'s lease; false once it has expired or another delivery took it. */
  async renewLease(recordingSid: string, owner: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE recordings SET lease_until = now() + $3::int * interval '1 millisecond'
        WHERE recording_sid = $1 AND ${HELD_BY_2}`,
      [recordingSid, owner, ttlMs],
    );
    return rowCount === 1;
  }

  async releaseLease(recordingSid: string, owner: string): Promise<void> {
    await this.pool.query(
      'UPDATE recordings SET lease_owner = NULL, lease_until = NULL WHERE recording_sid = $1 AND lease_owner = $2',
      [recordingSid, owner],
    );
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

  // The writes below are fenced by the lease: they change the row only while `owner` holds it, and throw
  // RecordingLeaseLostError otherwise, so a delivery that lost its lease (paused past its expiry, cut off from
  // the database) cannot overwrite what the new holder did.

  async countAttempt(recordingSid: string, owner: string): Promise<void> {
    const result = await this.pool.query(
      `UPDATE recordings SET attempts = attempts + 1, updated_at = now() WHERE recording_sid = $1 AND ${HELD_BY_2}`,
      [recordingSid, owner],
    );
    fenced(result, recordingSid);
  }

  async markFailed(
    recordingSid: string,
    owner: string,
    errorCode: string,
    errorMessage: string,
  ): Promise<void> {
    const result = await this.pool.query(
      `UPDATE recordings SET status = 'failed', error_source = 'fetcher', error_code = $3, error_message = $4, updated_at = now()
        WHERE recording_sid = $1 AND ${HELD_BY_2} AND status <> 'stored'`,
      [recordingSid, owner, errorCode, errorMessage.slice(0, 1000)],
    );
    fenced(result, recordingSid);
  }

  /**
   * Row and objects in one transaction: `stored` is never visible without its objects. The fenced row update
   * comes first, so it locks the row before the objects are replaced.
   */
  async markStored(recordingSid: string, owner: string, archived: ArchivedRecording): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const result = await client.query(
        `UPDATE recordings SET status = 'stored', channels = 2, sample_rate = $3, duration_ms = $4,
                error_source = NULL, error_code = NULL, error_message = NULL, stored_at = now(), updated_at = now()
          WHERE recording_sid = $1 AND ${HELD_BY_2}`,
        [recordingSid, owner, archived.sampleRate, archived.durationMs],
      );
      fenced(result, recordingSid);
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
    });
  }

  async markEventsPublished(recordingSid: string, owner: string): Promise<void> {
    const result = await this.pool.query(
      `UPDATE recordings SET events_published_at = now(), updated_at = now() WHERE recording_sid = $1 AND ${HELD_BY_2}`,
      [recordingSid, owner],
    );
    fenced(result, recordingSid);
  }

  /** Records a recording final's redacted spans (a repeat changes nothing). */
  async addRedactions(
    recordingSid: string,
    speaker: string,
    spans: readonly AudioRedactionSpan[],
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO recording_audio_redactions (recording_sid, speaker, start_ms, end_ms, kind)
       SELECT $1, $2, s.start_ms, s.end_ms, s.kind
         FROM unnest($3::int[], $4::int[], $5::text[]) AS s (start_ms, end_ms, kind)
       ON CONFLICT DO NOTHING`,
      [
        recordingSid,
        speaker,
        spans.map((s) => s.startMs),
        spans.map((s) => s.endMs),
        spans.map((s) => s.kind),
      ],
    );
  }

  /** Every redacted span of the recording, by speaker. */
  async redactions(recordingSid: string): Promise<Map<string, AudioRedactionSpan[]>> {
    const { rows } = await this.pool.query<{
      speaker: string;
      start_ms: number;
      end_ms: number;
      kind: string;
    }>(
      `SELECT speaker, start_ms, end_ms, kind FROM recording_audio_redactions WHERE recording_sid = $1
       ORDER BY speaker, start_ms, end_ms`,
      [recordingSid],
    );
    const bySpeaker = new Map<string, AudioRedactionSpan[]>();
    for (const r of rows) {
      bySpeaker.set(r.speaker, [
        ...(bySpeaker.get(r.speaker) ?? []),
        { kind: r.kind, startMs: r.start_ms, endMs: r.end_ms },
      ]);
    }
    return bySpeaker;
  }

  /** Per object role, the spans its stored content covers. */
  async redactionsApplied(recordingSid: string): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ role: string; redactions_applied: number }>(
      'SELECT role, redactions_applied FROM recording_objects WHERE recording_sid = $1',
      [recordingSid],
    );
    return new Map(rows.map((r) => [r.role, r.redactions_applied]));
  }

  /** Records an object rewritten with `applied` spans covered (fenced by the lease). */
  async objectRedacted(
    recordingSid: string,
    owner: string,
    role: string,
    rewritten: { bytes: number; sha256: string },
    applied: number,
  ): Promise<void> {
    const result = await this.pool.query(
      `UPDATE recording_objects SET bytes = $4, sha256 = $5, redactions_applied = $6
        WHERE recording_sid = $1 AND role = $3
          AND EXISTS (SELECT 1 FROM recordings WHERE recording_sid = $1 AND ${HELD_BY_2})`,
      [recordingSid, owner, role, rewritten.bytes, rewritten.sha256, applied],
    );
    fenced(result, recordingSid);
  }

  async markDeletedAtTwilio(recordingSid: string, owner: string): Promise<void> {
    const result = await this.pool.query(
      `UPDATE recordings SET twilio_deleted_at = now(), updated_at = now() WHERE recording_sid = $1 AND ${HELD_BY_2}`,
      [recordingSid, owner],
    );
    fenced(result, recordingSid);
  }
}

function fenced(result: pg.QueryResult, recordingSid: string): void {
  if (result.rowCount !== 1) throw new RecordingLeaseLostError(recordingSid, 'expired or taken over');
}
