import { toDatabaseError, withTransaction, type Pool } from '@calltx/db';

export type ErasureState = 'requested' | 'purged' | 'erased';

export interface ErasureRow {
  callSid: string;
  state: ErasureState;
  confirmed: string[];
  attempts: number;
}

/** A request to publish: the Nats-Msg-Id is the CallSid and the attempt, so a re-publish is not deduplicated. */
export interface ErasureAttempt {
  callSid: string;
  attempts: number;
}

const ROW = `call_sid AS "callSid", state, confirmed, attempts`;

/**
 * `api_erasures`: one row per call whose erasure was asked for, its state kept in the row (no session state), so
 * that any replica can carry on any erasure. Also the read model's tombstones (CallSid only).
 */
export class ErasuresRepository {
  constructor(private readonly pool: Pool) {}

  private async query<R extends object>(operation: string, sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }

  async get(callSid: string): Promise<ErasureRow | null> {
    const [row] = await this.query<ErasureRow>(
      'read erasure',
      `SELECT ${ROW} FROM api_erasures WHERE call_sid = $1`,
      [callSid],
    );
    return row ?? null;
  }

  /** The first request of a call's erasure; null when it was asked for before (any replica, any time). */
  async request(callSid: string, actor: string): Promise<ErasureAttempt | null> {
    const [row] = await this.query<ErasureAttempt>(
      'record erasure request',
      `INSERT INTO api_erasures (call_sid, actor, attempts) VALUES ($1, $2, 1)
       ON CONFLICT (call_sid) DO NOTHING RETURNING call_sid AS "callSid", attempts`,
      [callSid, actor],
    );
    return row ?? null;
  }

  /** One more attempt at an unfinished erasure (a second DELETE); null when it is finished. */
  async again(callSid: string): Promise<ErasureAttempt | null> {
    const [row] = await this.query<ErasureAttempt>(
      'retry erasure',
      `UPDATE api_erasures SET attempts = attempts + 1, updated_at = now()
        WHERE call_sid = $1 AND state <> 'erased' RETURNING call_sid AS "callSid", attempts`,
      [callSid],
    );
    return row ?? null;
  }

  /**
   * Unfinished erasures last asked for more than `afterSeconds` ago, claimed by pushing their `updated_at`
   * forward: a conditional UPDATE, so that of many replicas sweeping at once only one asks again.
   */
  async claimStale(afterSeconds: number, limit: number): Promise<ErasureAttempt[]> {
    return this.query<ErasureAttempt>(
      'claim stale erasures',
      `UPDATE api_erasures SET attempts = attempts + 1, updated_at = now()
        WHERE call_sid IN (
          SELECT call_sid FROM api_erasures
           WHERE state <> 'erased' AND updated_at < now() - make_interval(secs => $1)
           ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)
          AND updated_at < now() - make_interval(secs => $1)
        RETURNING call_sid AS "callSid", attempts`,
      [afterSeconds, limit],
    );
  }

  /**
   * Calls that ended more than `days` ago, none of whose recordings is still on its way (Twilio recording or
   * the fetcher downloading): their erasure is requested here, once across every replica (ON CONFLICT).
   */
  async requestExpired(days: number, limit: number): Promise<ErasureAttempt[]> {
    return this.query<ErasureAttempt>(
      'request expired calls erasure',
      `INSERT INTO api_erasures (call_sid, actor, attempts)
       SELECT c.call_sid, 'retention', 1 FROM api_calls c
        WHERE c.ended_at < now() - make_interval(days => $1)
          AND NOT EXISTS (SELECT 1 FROM api_erasures e WHERE e.call_sid = c.call_sid)
          AND NOT EXISTS (SELECT 1 FROM api_recordings r
                           WHERE r.call_sid = c.call_sid AND r.status IN ('in-progress', 'completed'))
        ORDER BY c.ended_at LIMIT $2
       ON CONFLICT (call_sid) DO NOTHING
       RETURNING call_sid AS "callSid", attempts`,
      [days, limit],
    );
  }

  /** Adds a service's confirmation (once); null when no erasure of the call is known here. */
  async confirm(callSid: string, service: string): Promise<ErasureRow | null> {
    const [row] = await this.query<ErasureRow>(
      'confirm erasure',
      `UPDATE api_erasures
          SET confirmed = CASE WHEN $2 = ANY (confirmed) THEN confirmed ELSE confirmed || $2::text END,
              updated_at = now()
        WHERE call_sid = $1 RETURNING ${ROW}`,
      [callSid, service],
    );
    return row ?? null;
  }

  /** Deletes the call's read-model rows (not api_audit, not this table) and marks its streams purged. */
  async forgetAndMarkPurged(callSid: string): Promise<void> {
    try {
      await withTransaction(this.pool, async (client) => {
        await forgetCallRows(client, callSid);
        await client.query(
          `UPDATE api_erasures SET state = 'purged', updated_at = now() WHERE call_sid = $1 AND state = 'requested'`,
          [callSid],
        );
      });
    } catch (error) {
      throw toDatabaseError('forget erased call', error);
    }
  }

  async markErased(callSid: string): Promise<void> {
    await this.query(
      'mark call erased',
      `UPDATE api_erasures SET state = 'erased', updated_at = now() WHERE call_sid = $1`,
      [callSid],
    );
  }
}

interface Queryable {
  query(sql: string, params: unknown[]): Promise<unknown>;
}

/** Every read-model row of the call. */
export async function forgetCallRows(client: Queryable, callSid: string): Promise<void> {
  await client.query(
    `DELETE FROM api_recording_objects
      WHERE recording_sid IN (SELECT recording_sid FROM api_recordings WHERE call_sid = $1)`,
    [callSid],
  );
  for (const table of ['api_recordings', 'api_transcript_segments', 'api_call_stream_files', 'api_calls'])
    await client.query(`DELETE FROM ${table} WHERE call_sid = $1`, [callSid]);
}

/** Whether the call was erased or is being erased: the projector drops its events. */
export async function isErasing(pool: Pool, callSid: string): Promise<boolean> {
  try {
    const { rowCount } = await pool.query('SELECT 1 FROM api_erasures WHERE call_sid = $1', [callSid]);
    return (rowCount ?? 0) > 0;
  } catch (error) {
    throw toDatabaseError('read erasure', error);
  }
}
