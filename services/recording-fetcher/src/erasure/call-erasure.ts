import type pg from 'pg';
import { CalltxError } from '@calltx/events';
import { toDatabaseError } from '@calltx/db';
import type { ObjectStore } from '@calltx/storage';
import { deleteRecordingAtTwilio } from '../twilio/delete-recording.js';
import { listCallRecordings } from '../twilio/list-recordings.js';
import type { TwilioRecordingApi } from '../twilio/recording-api.js';

/** Where a call's recordings and their per-speaker splits live (recordingKeys). */
const recordingsPrefix = (callSid: string) => `calls/${callSid}/recordings/`;

/**
 * The fetcher's part of an erasure: the call's recordings at Twilio, their objects (dual and splits) and rows
 * go; a tombstone (the CallSid only) stays so that a late callback or reconcile never archives them again.
 */
export class CallErasure {
  constructor(
    private readonly pool: pg.Pool,
    private readonly store: ObjectStore,
    private readonly api: TwilioRecordingApi,
    private readonly requestTimeoutMs: number,
  ) {}

  async erase(callSid: string): Promise<void> {
    // Before the lease check: a download that claims its lease after this sees the tombstone (fetchOnce).
    await this.query(
      'record erased call',
      'INSERT INTO fetcher_erased_calls (call_sid) VALUES ($1) ON CONFLICT DO NOTHING',
      [callSid],
    );
    const downloading = await this.query(
      'find recordings downloading',
      'SELECT recording_sid FROM recordings WHERE call_sid = $1 AND lease_until > now()',
      [callSid],
    );
    if ((downloading.rowCount ?? 0) > 0)
      throw new CalltxError(`a recording of ${callSid} is still downloading, erasure deferred`, {
        retryable: true,
      });
    const known = await this.query<{ recording_sid: string }>(
      'list recordings of the call',
      'SELECT recording_sid FROM recordings WHERE call_sid = $1',
      [callSid],
    );
    const listed = await listCallRecordings(this.api, callSid, this.requestTimeoutMs);
    const sids = new Set([...known.rows.map((r) => r.recording_sid), ...listed.map((r) => r.sid)]);
    // A 404 counts as deleted: a retry after a crash deletes what is left.
    for (const sid of sids) await deleteRecordingAtTwilio(this.api, sid, this.requestTimeoutMs);
    for await (const object of this.store.list(recordingsPrefix(callSid)))
      await this.store.remove(object.key);
    await this.query(
      'erase audio redactions',
      'DELETE FROM recording_audio_redactions WHERE recording_sid = ANY($1)',
      [[...sids]],
    );
    // recording_objects go with their recordings (ON DELETE CASCADE).
    await this.query('erase recordings', 'DELETE FROM recordings WHERE call_sid = $1', [callSid]);
    await this.query('erase reconcile', 'DELETE FROM recording_reconcile WHERE call_sid = $1', [callSid]);
  }

  async isErased(callSid: string): Promise<boolean> {
    const { rowCount } = await this.query(
      'read erased call',
      'SELECT 1 FROM fetcher_erased_calls WHERE call_sid = $1',
      [callSid],
    );
    return (rowCount ?? 0) > 0;
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    operation: string,
    sql: string,
    params: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }
}
