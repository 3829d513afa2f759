import type pg from 'pg';
import { CalltxError } from '@calltx/events';
import { toDatabaseError } from '@calltx/db';

/** Work for a call that was erased meanwhile: dropped (acknowledged), never stored or dead-lettered. */
export class CallErasedError extends CalltxError {
  constructor(callSid: string) {
    super(`call ${callSid} was erased: its work is dropped`, { retryable: false });
  }
}

/**
 * The transcriber's part of an erasure: the call's transcripts and settings go, a tombstone (the CallSid only)
 * stays so that work for the call arriving later is dropped. The transcriber keeps no objects of its own.
 */
export class CallErasure {
  private readonly forgetters: Array<(callSid: string) => void> = [];

  constructor(private readonly pool: pg.Pool) {}

  /** Caches to clear of a call on erasure (this replica's; the others clear theirs on `call.erased.v1`). */
  onForget(forget: (callSid: string) => void): void {
    this.forgetters.push(forget);
  }

  forget(callSid: string): void {
    for (const forget of this.forgetters) forget(callSid);
  }

  async erase(callSid: string): Promise<void> {
    await this.query(
      'record erased call',
      'INSERT INTO transcriber_erased_calls (call_sid) VALUES ($1) ON CONFLICT DO NOTHING',
      [callSid],
    );
    await this.query('erase transcripts', 'DELETE FROM transcript_segments WHERE call_sid = $1', [callSid]);
    await this.query('erase call settings', 'DELETE FROM call_settings WHERE call_sid = $1', [callSid]);
    this.forget(callSid);
  }

  async isErased(callSid: string): Promise<boolean> {
    const { rowCount } = await this.query(
      'read erased call',
      'SELECT 1 FROM transcriber_erased_calls WHERE call_sid = $1',
      [callSid],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Runs `work` unless the call was erased; work that finds the call erased midway is dropped too. */
  async unlessErased(callSid: string, work: () => Promise<void>): Promise<void> {
    if (await this.isErased(callSid)) return;
    try {
      await work();
    } catch (error) {
      if (error instanceof CallErasedError) return;
      throw error;
    }
  }

  private async query(operation: string, sql: string, params: unknown[]) {
    try {
      return await this.pool.query(sql, params);
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }
}
