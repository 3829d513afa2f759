import { toDatabaseError, type Pool } from '@calltx/db';
import type { PublishedFinal } from '../live/speech-sink.js';

/** When a stored call's live finals are first checked, and how long they are checked before giving up. */
export interface LiveFinalsAuditSettings {
  /** From a call's WAVs being stored to its first audit (LIVE_FINALS_AUDIT_AFTER_MS), and the backoff's base. */
  afterMs: number;
  /** From a call's WAVs being stored to giving up on finals still missing (LIVE_FINALS_AUDIT_GIVE_UP_MS). */
  giveUpMs: number;
}

/** An audit this replica holds the lease of. */
export interface ClaimedAudit {
  callSid: string;
  /** This attempt's number, from 1. */
  attempt: number;
  /** The audit is past its give-up time: what is missing now stays missing. */
  pastGiveUp: boolean;
}

export interface RecordedFinal extends PublishedFinal {
  speaker: string;
  /** When it was recorded (the database's clock). */
  publishedAt: Date;
}

/**
 * The live-finals audits (`call_live_finals_audits`) and the finals they check (`call_live_finals`). An audit is
 * held through a lease in its row: claimed with `FOR UPDATE SKIP LOCKED` by whichever replica's sweep gets it
 * first, renewed while it reissues, and taken by another replica once it lapses (its holder died). Nothing lives
 * in a session, so this works through a transaction-mode pooler and on every replica at once.
 */
export class LiveFinalsAudits {
  constructor(
    private readonly pool: Pool,
    /** This replica's name in the leases it takes. */
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  private async query<R extends object>(operation: string, sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R & Record<string, unknown>>(sql, params)).rows;
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }

  /** Takes up to `limit` due audits whose lease is free or lapsed (never an erased call's). */
  async claimDue(limit: number): Promise<ClaimedAudit[]> {
    const rows = await this.query<{ call_sid: string; attempts: number; past_give_up: boolean }>(
      'claim live finals audits',
      `UPDATE call_live_finals_audits
       SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond', attempts = attempts + 1
       WHERE call_sid IN (
         SELECT call_sid FROM call_live_finals_audits
         WHERE done_at IS NULL AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
           AND NOT EXISTS (SELECT 1 FROM ingest_erased_calls e WHERE e.call_sid = call_live_finals_audits.call_sid)
         ORDER BY due_at LIMIT $3
         FOR UPDATE SKIP LOCKED
       )
       RETURNING call_sid, attempts, give_up_at <= now() AS past_give_up`,
      [this.owner, this.leaseMs, limit],
    );
    return rows.map((r) => ({ callSid: r.call_sid, attempt: r.attempts, pastGiveUp: r.past_give_up }));
  }

  /** Extends this replica's lease; false when it is no longer this replica's (lapsed and taken) or the call was erased. */
  async renew(callSid: string): Promise<boolean> {
    const rows = await this.query(
      'renew live finals audit',
      `UPDATE call_live_finals_audits SET lease_until = now() + $3 * interval '1 millisecond'
       WHERE call_sid = $1 AND lease_owner = $2 AND done_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM ingest_erased_calls e WHERE e.call_sid = $1)
       RETURNING 1 AS renewed`,
      [callSid, this.owner, this.leaseMs],
    );
    return rows.length === 1;
  }

  /** Gives the lease back with the audit due again in `afterMs`, or at its give-up time if that comes first. */
  async reschedule(callSid: string, afterMs: number): Promise<void> {
    await this.query(
      'reschedule live finals audit',
      `UPDATE call_live_finals_audits
       SET due_at = LEAST(now() + $3 * interval '1 millisecond', give_up_at), lease_owner = NULL, lease_until = NULL
       WHERE call_sid = $1 AND lease_owner = $2`,
      [callSid, this.owner, afterMs],
    );
  }

  async finish(callSid: string, outcome: 'complete' | 'gave-up'): Promise<void> {
    await this.query(
      'finish live finals audit',
      `UPDATE call_live_finals_audits SET done_at = now(), outcome = $3, lease_owner = NULL, lease_until = NULL
       WHERE call_sid = $1 AND lease_owner = $2`,
      [callSid, this.owner, outcome],
    );
  }

  /** Every live final recorded for the call, by speaker and sequence. */
  async finals(callSid: string): Promise<RecordedFinal[]> {
    const rows = await this.query<{
      speaker: string;
      sequence: number;
      start_ms: number;
      end_ms: number;
      path_start_ms: number;
      published_at: Date;
    }>(
      'read live finals',
      `SELECT speaker, sequence, start_ms, end_ms, path_start_ms, published_at FROM call_live_finals WHERE call_sid = $1
       ORDER BY speaker, sequence`,
      [callSid],
    );
    return rows.map((r) => ({
      speaker: r.speaker,
      sequence: r.sequence,
      startMs: r.start_ms,
      endMs: r.end_ms,
      pathStartMs: r.path_start_ms,
      publishedAt: r.published_at,
    }));
  }
}
