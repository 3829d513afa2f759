import type { CallClaims } from '../claims/index.js';
import type { Logger } from '@calltx/runtime';
import type { CallRow } from '../db/calls-repo.js';
import type { LiveFinalsAuditor } from '../live/live-finals-audit.js';
import { OwnedCall, type OwnedCallDeps } from './owned-call.js';
import { recoverUnreadableParts } from './part-recovery.js';

export interface CallManagerOptions {
  sweepIntervalMs: number;
  /** Orphaned calls one replica tries to take per sweep (started together), so that replicas share a dead one's calls. */
  maxAdoptionsPerSweep?: number;
  /** How often a sweep also retries parts set aside as unreadable. Default 60 s. */
  partRecoveryIntervalMs?: number;
  /** How long a set-aside part is retried before it is given up on (INGEST_PART_RECOVERY_GIVE_UP_MS). */
  partRecoveryGiveUpMs: number;
  /** Runs the due live-finals audits at each sweep (absent: LIVE_FINALS_AUDIT_AFTER_MS=0). */
  auditor?: LiveFinalsAuditor | undefined;
}

/**
 * The calls this replica owns, and the sweeper every replica runs: it hands each owned call its current row (so
 * the owner notices a stop recorded by another replica, or silence), and adopts calls that are active in
 * Postgres but claimed by nobody (their owner died, or released them at shutdown), now and then retries part
 * objects set aside as unreadable, and runs the live-finals audits that are due (any replica's sweep may take one).
 */
export class CallManager {
  private readonly owned = new Map<string, OwnedCall>();
  private readonly adopting = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private lastPartRecovery = 0;
  private recovering: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly deps: OwnedCallDeps,
    private readonly claims: CallClaims,
    private readonly options: CallManagerOptions,
  ) {
    this.log = deps.logger;
  }

  /** CallSids owned here. */
  ownedCalls(): string[] {
    return [...this.owned.keys()];
  }

  /** Claims the call and starts processing it; false when another replica owns it (or this one already does). */
  async adopt(row: CallRow): Promise<boolean> {
    if (this.stopped || this.owned.has(row.callSid) || this.adopting.has(row.callSid)) return false;
    this.adopting.add(row.callSid);
    try {
      return await this.claimAndStart(row);
    } finally {
      this.adopting.delete(row.callSid);
    }
  }

  private async claimAndStart(row: CallRow): Promise<boolean> {
    const claim = await this.claims.claim(row.callSid);
    if (!claim) return false;
    const call = new OwnedCall(row, claim, this.deps, (done) => {
      if (this.owned.get(done.callSid) === done) this.owned.delete(done.callSid);
      this.deps.metrics.activeCalls.set(this.owned.size);
    });
    this.owned.set(row.callSid, call);
    this.deps.metrics.activeCalls.set(this.owned.size);
    try {
      await call.start();
    } catch (error) {
      // Give it back at once: another replica (or the next sweep here) tries again.
      this.log.error({ err: error, callSid: row.callSid }, 'could not start processing the call');
      await call.stop();
      return false;
    }
    this.log.info({ callSid: row.callSid, state: row.ingestState }, 'call claimed');
    return true;
  }

  /** Re-checks an owned call now (a stop or end was just recorded) instead of at the next sweep. */
  async nudge(callSid: string): Promise<void> {
    const call = this.owned.get(callSid);
    if (!call) return;
    const row = await this.deps.repo.get(callSid);
    if (row) void call.tick(row);
  }

  start(): void {
    const schedule = () => {
      this.sweeper = setTimeout(() => {
        this.sweeping = this.sweep()
          .catch((error: unknown) => this.log.error({ err: error }, 'sweep failed'))
          .finally(() => {
            if (!this.stopped) schedule();
          });
      }, this.options.sweepIntervalMs);
    };
    schedule();
  }

  async sweep(): Promise<void> {
    const rows = await this.deps.repo.open();
    let claimed: Set<string> | undefined;
    // Started together, not one after another: a replica taking over many orphaned calls resumes each without
    // waiting for the others' live-path replays (one after another, the last of eight waited 15 s under load).
    const adoptions: Array<Promise<boolean>> = [];
    for (const row of rows) {
      if (this.stopped) break;
      const mine = this.owned.get(row.callSid);
      if (mine) {
        void mine.tick(row);
        continue;
      }
      if (adoptions.length >= (this.options.maxAdoptionsPerSweep ?? 10)) continue;
      claimed ??= await this.claims.claimedKeys();
      if (claimed.has(row.callSid)) continue;
      adoptions.push(this.adopt(row));
    }
    await Promise.all(adoptions);
    if (this.stopped) return;
    this.options.auditor?.runDue();
    if (
      !this.recovering &&
      Date.now() - this.lastPartRecovery >= (this.options.partRecoveryIntervalMs ?? 60_000)
    ) {
      this.lastPartRecovery = Date.now();
      // Not awaited: rewriting a long call's WAVs must not hold up the adoption of orphaned calls.
      this.recovering = recoverUnreadableParts(this.deps, this.claims, this.options.partRecoveryGiveUpMs)
        .catch((error: unknown) => this.log.error({ err: error }, 'recovering set-aside parts failed'))
        .finally(() => (this.recovering = undefined));
    }
  }

  /** Stops sweeping, stores what owned calls hold and releases them for other replicas. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweeper);
    await this.sweeping;
    await this.recovering;
    await this.options.auditor?.stop();
    await Promise.all([...this.owned.values()].map((call) => call.stop()));
  }
}
