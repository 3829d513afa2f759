import type pg from 'pg';
import { toDatabaseError } from '@calltx/db';

/** What a call asked for on its call.started event; null where it asked for nothing. */
export interface StartedCall {
  callSid: string;
  language: string | null;
  hints: string | null;
  startedAt: string;
}

/** The transcriber's own copy of each call's settings (`call_settings`), fed by calls.v1 `started` events. */
export class CallSettingsStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Keeps the first record of a call: call.started is published once, and a redelivery says the same. */
  async record(call: StartedCall): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO call_settings (call_sid, language, hints, started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (call_sid) DO NOTHING`,
        [call.callSid, call.language, call.hints, call.startedAt],
      );
    } catch (error) {
      throw toDatabaseError('record call settings', error);
    }
  }

  async find(callSid: string): Promise<StartedCall | null> {
    try {
      const { rows } = await this.pool.query<{
        language: string | null;
        hints: string | null;
        started_at: Date;
      }>('SELECT language, hints, started_at FROM call_settings WHERE call_sid = $1', [callSid]);
      const row = rows[0];
      return row
        ? { callSid, language: row.language, hints: row.hints, startedAt: row.started_at.toISOString() }
        : null;
    } catch (error) {
      throw toDatabaseError('find call settings', error);
    }
  }
}
