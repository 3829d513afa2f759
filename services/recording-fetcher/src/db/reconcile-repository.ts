import type pg from 'pg';

/** How a call's reconciliation ended: its recording was stored (by callback or recovered), or never will be. */
export type ReconcileOutcome = 'stored' | 'recovered' | 'twilio-final' | 'recording-missing';

export interface DueCall {
  callSid: string;
  /** Checks against Twilio so far. */
  checks: number;
  /** Time since the call was noted as ended (database clock), for the give-up bound. */
  endedForMs: number;
}

export interface ReconcileRow {
  callSid: string;
  state: 'waiting' | ReconcileOutcome;
  checks: number;
  twilioStatus: string | null;
}

/**
 * The `recording_reconcile` table: calls that ended, waiting for their recording to be checked. Replicas share it
 * through leases held in the rows themselves (no session state, so it works behind a transaction pooler).
 */
export class ReconcileRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Idempotent: a redelivered `ended` event does not push the due time back. */
  async noteEnded(callSid: string, afterMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO recording_reconcile (call_sid, due_at) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (call_sid) DO NOTHING`,
      [callSid, afterMs],
    );
  }

  /**
   * Takes up to `limit` due calls no other replica holds, leasing them to `owner` for `leaseMs`. One statement:
   * rows locked by a concurrent claim are skipped, and a lease left by a dead replica expires.
   */
  async claimDue(owner: string, leaseMs: number, limit: number): Promise<DueCall[]> {
    const { rows } = await this.pool.query<{ call_sid: string; checks: number; ended_for_ms: number }>(
      `UPDATE recording_reconcile r
          SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond', updated_at = now()
         FROM (SELECT call_sid FROM recording_reconcile
                WHERE state = 'waiting' AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
                ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
        WHERE r.call_sid = due.call_sid
        RETURNING r.call_sid, r.checks,
                  (EXTRACT(EPOCH FROM now() - r.ended_at) * 1000)::float8 AS ended_for_ms`,
      [owner, leaseMs, limit],
    );
    return rows.map((row) => ({ callSid: row.call_sid, checks: row.checks, endedForMs: row.ended_for_ms }));
  }

  /** Whether the fetcher's own table already holds a final outcome for a recording of this call. */
  async hasFinalRecording(callSid: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM recordings
        WHERE call_sid = $1 AND (status = 'stored' OR (status IN ('absent', 'failed') AND error_source = 'twilio'))
        LIMIT 1`,
      [callSid],
    );
    return rows.length > 0;
  }

  /** Ends the call's reconciliation, if this owner still holds it. */
  async settle(
    callSid: string,
    owner: string,
    outcome: ReconcileOutcome,
    twilioStatus: string | null,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE recording_reconcile
          SET state = $3, twilio_status = COALESCE($4, twilio_status), checks = checks + 1,
              lease_owner = NULL, lease_until = NULL,
              updated_at = now()
        WHERE call_sid = $1 AND lease_owner = $2`,
      [callSid, owner, outcome, twilioStatus],
    );
  }

  /** Asks again after `delayMs`, releasing the lease. */
  async postpone(
    callSid: string,
    owner: string,
    delayMs: number,
    twilioStatus: string | null,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE recording_reconcile
          SET due_at = now() + $3 * interval '1 millisecond', twilio_status = COALESCE($4, twilio_status),
              checks = checks + 1, lease_owner = NULL, lease_until = NULL, updated_at = now()
        WHERE call_sid = $1 AND lease_owner = $2`,
      [callSid, owner, delayMs, twilioStatus],
    );
  }

  /**
   * Deletes up to `limit` rows settled (any state but `waiting`) more than `olderThanMs` ago; returns how many.
   * Safe from every replica at once: rows another replica is deleting are skipped, not waited for, and a row is
   * deleted once whoever gets it. A waiting row is never touched, whatever its age.
   */
  async pruneSettled(olderThanMs: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM recording_reconcile r
        USING (SELECT call_sid FROM recording_reconcile
                WHERE state <> 'waiting' AND updated_at < now() - $1 * interval '1 millisecond'
                LIMIT $2 FOR UPDATE SKIP LOCKED) old
        WHERE r.call_sid = old.call_sid`,
      [olderThanMs, limit],
    );
    return rowCount ?? 0;
  }

  async get(callSid: string): Promise<ReconcileRow | null> {
    const { rows } = await this.pool.query<{
      call_sid: string;
      state: ReconcileRow['state'];
      checks: number;
      twilio_status: string | null;
    }>('SELECT call_sid, state, checks, twilio_status FROM recording_reconcile WHERE call_sid = $1', [
      callSid,
    ]);
    const row = rows[0];
    return row
      ? { callSid: row.call_sid, state: row.state, checks: row.checks, twilioStatus: row.twilio_status }
      : null;
  }
}
