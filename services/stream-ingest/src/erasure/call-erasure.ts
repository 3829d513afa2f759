import { CalltxError } from '@calltx/events';
import { toDatabaseError, type Pool } from '@calltx/db';
import type { ObjectStore } from '@calltx/storage';
import type { CallsRepo } from '../db/calls-repo.js';
import { streamPrefix } from '../spool/object-keys.js';

/**
 * stream-ingest's part of an erasure: the call's objects (stream WAVs, spooled parts, unreadable parts set
 * aside) and rows go, a tombstone (the CallSid only) stays so that later events of the call are ignored.
 */
export class CallErasure {
  constructor(
    private readonly pool: Pool,
    private readonly repo: CallsRepo,
    private readonly store: ObjectStore,
  ) {}

  async erase(callSid: string): Promise<void> {
    // First, so that no replica adopts the call again while its data goes.
    await this.query(
      'record erased call',
      'INSERT INTO ingest_erased_calls (call_sid) VALUES ($1) ON CONFLICT DO NOTHING',
      [callSid],
    );
    const call = await this.repo.get(callSid);
    // Its owner is still writing parts or WAVs: erase once they are stored (the request comes back later).
    if (call && (call.ingestState === 'active' || call.ingestState === 'stored'))
      throw new CalltxError(`call ${callSid} is still being stored, erasure deferred`, { retryable: true });
    for await (const object of this.store.list(streamPrefix(callSid))) await this.store.remove(object.key);
    // The stream files, live progress, live finals and their audit, and unreadable parts go with it (ON DELETE CASCADE).
    await this.query('erase call rows', 'DELETE FROM calls WHERE call_sid = $1', [callSid]);
    await this.query('erase audio redactions', 'DELETE FROM call_audio_redactions WHERE call_sid = $1', [
      callSid,
    ]);
  }

  /** Whether the call was erased: its events are ignored. */
  async isErased(callSid: string): Promise<boolean> {
    const { rowCount } = await this.query(
      'read erased call',
      'SELECT 1 FROM ingest_erased_calls WHERE call_sid = $1',
      [callSid],
    );
    return (rowCount ?? 0) > 0;
  }

  private async query(operation: string, sql: string, params: unknown[]) {
    try {
      return await this.pool.query(sql, params);
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }
}
