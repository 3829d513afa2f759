import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RecordingLeaseLostError } from '../errors.js';
import type { RecordingsRepository } from './recordings-repository.js';

/** Shown in `lease_owner` so operators can see which replica works on a recording. */
const REPLICA = `${hostname()}:${process.pid}`;

/**
 * One delivery's exclusive right to work on a recording, kept in the recording's row for `ttlMs` and renewed
 * every third of that until released. Its signal aborts as soon as the lease is known lost (renewal refused) or
 * could have lapsed (not renewed in time), so work stops before another delivery can take over; the writes that
 * matter are fenced in the database as well (see RecordingsRepository).
 */
export class RecordingLease {
  private readonly controller = new AbortController();
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly repository: RecordingsRepository,
    readonly recordingSid: string,
    readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /** The lease, or null while another delivery holds it. */
  static async claim(
    repository: RecordingsRepository,
    recordingSid: string,
    ttlMs: number,
  ): Promise<RecordingLease | null> {
    const owner = `${REPLICA}:${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    if (!(await repository.claimLease(recordingSid, owner, ttlMs))) return null;
    const lease = new RecordingLease(repository, recordingSid, owner, ttlMs);
    lease.heldUntil(started);
    lease.scheduleRenewal();
    return lease;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops renewing and frees the recording at once; a failure leaves the lease to expire. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopTimers();
    await this.repository.releaseLease(this.recordingSid, this.owner).catch(() => undefined);
  }

  /**
   * The database set the expiry after `writeStarted`, so locally the lease is surely ours until `writeStarted`
   * + TTL; a margin leaves time to stop work in flight.
   */
  private heldUntil(writeStarted: number): void {
    clearTimeout(this.expiryTimer);
    const validUntil = writeStarted + this.ttlMs - Math.min(1_000, this.ttlMs / 10);
    this.expiryTimer = setTimeout(() => this.lose('not renewed in time'), validUntil - Date.now());
    this.expiryTimer.unref();
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => void this.renew(), this.ttlMs / 3);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    const started = Date.now();
    try {
      if (await this.repository.renewLease(this.recordingSid, this.owner, this.ttlMs)) {
        if (this.isActive()) this.heldUntil(started);
      } else {
        this.lose('expired or taken over');
      }
    } catch {
      // Database unreachable: the next renewal tries again, and the expiry timer stops the work if none succeeds.
    }
    if (this.isActive()) this.scheduleRenewal();
  }

  private isActive(): boolean {
    return !this.released && !this.controller.signal.aborted;
  }

  private lose(reason: string): void {
    if (!this.isActive()) return;
    this.stopTimers();
    this.controller.abort(new RecordingLeaseLostError(this.recordingSid, reason));
  }

  private stopTimers(): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }
}
