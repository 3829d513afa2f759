import { backoffDelayMs, type RetryPolicy } from '@calltx/retry';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEvent } from '@calltx/nats';
import { recordingEvents, type CallEvent, type RecordingStatus, type Subjects } from '@calltx/events';
import { type Logger } from '@calltx/runtime';
import type { ReconcileRepository, DueCall } from '../db/reconcile-repository.js';
import type { FetcherMetrics } from '../metrics.js';
import { listCallRecordings, type ListedRecording } from '../twilio/list-recordings.js';
import type { TwilioRecordingApi } from '../twilio/recording-api.js';

export interface ReconcilerSettings {
  accountSid: string;
  /** Wait after a call ends before asking Twilio (its callbacks normally arrive well before). */
  afterMs: number;
  /** How long past `afterMs` to keep asking while Twilio has no final status. */
  giveUpMs: number;
  /** Waits between checks (the fetcher's retry curve; `giveUpMs`, not its attempts, bounds them). */
  retry: RetryPolicy;
  /** Per request to Twilio's list API. */
  requestTimeoutMs: number;
  /** How long a settled row is kept before it is pruned (RECORDING_RECONCILE_KEEP_MS). */
  keepMs: number;
}

export interface ReconcilerDeps {
  settings: ReconcilerSettings;
  repository: ReconcileRepository;
  api: TwilioRecordingApi;
  js: JetStreamClient;
  subjects: Subjects;
  logger: Logger;
  metrics: FetcherMetrics;
}

/** Calls claimed per round; a full batch starts the next round at once. */
const CLAIM_BATCH = 16;
/** Settled rows deleted per statement: short transactions, however many have piled up. */
const PRUNE_BATCH = 500;
/** Most time between two prunes: the table never holds much more than the rows kept. */
const PRUNE_EVERY_MAX_MS = 10 * 60_000;
/** Statuses after which Twilio will never produce (another) file for a recording. */
const FINAL_WITHOUT_FILE = new Set(['absent', 'failed', 'deleted']);

type Callback = Extract<RecordingStatus, 'completed' | 'absent' | 'failed'>;

/**
 * Closes the gap a lost recording callback leaves (refused while JetStream was down, or never sent): each call
 * that ended without a recording stored is checked against Twilio's Recordings list once due, and every
 * recording listed is published as the callback the gateway would have published, with the same message id, so
 * the one archive path (exactly once per RecordingSid) stores it. While Twilio is still processing, the check is
 * repeated with backoff up to a bound, after which the call is recorded as `recording-missing`.
 *
 * Every replica runs it: calls are claimed with a lease in their row, and a duplicate publish is harmless.
 */
export class RecordingReconciler {
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: ReconcilerDeps) {}

  /** `calls.v1.*.ended`: the call's recording is due for a check after `afterMs`. */
  async handleCallEvent(event: CallEvent): Promise<void> {
    if (event.type !== 'call.ended.v1') return;
    await this.deps.repository.noteEnded(event.callSid, this.deps.settings.afterMs);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private get pollMs(): number {
    // Often enough that a due call waits a fraction of the delay; at most every 5 s.
    return Math.min(5_000, Math.max(50, this.deps.settings.afterMs / 4));
  }

  private get leaseMs(): number {
    // Long enough to list every page of a call and publish, with room to spare.
    return Math.max(30_000, 4 * this.deps.settings.requestTimeoutMs);
  }

  private get pruneEveryMs(): number {
    return Math.min(PRUNE_EVERY_MAX_MS, this.deps.settings.keepMs);
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    let prunedAt = -Infinity;
    while (!signal.aborted) {
      if (performance.now() - prunedAt >= this.pruneEveryMs) {
        prunedAt = performance.now();
        await this.prune();
      }
      let claimed = 0;
      try {
        const due = await this.deps.repository.claimDue(this.owner, this.leaseMs, CLAIM_BATCH);
        claimed = due.length;
        for (const call of due) {
          if (signal.aborted) break;
          await this.reconcile(call);
        }
      } catch (error) {
        // The database or NATS is away: the leases expire and the calls are taken up again.
        this.deps.logger.warn({ err: error }, 'recording reconciliation round failed');
      }
      if (claimed < CLAIM_BATCH) await sleep(this.pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Deletes the rows settled longer ago than `keepMs`, a batch at a time; a failure waits for the next prune. */
  private async prune(): Promise<void> {
    const { repository, settings, logger, metrics } = this.deps;
    let total = 0;
    try {
      for (;;) {
        const deleted = await repository.pruneSettled(settings.keepMs, PRUNE_BATCH);
        total += deleted;
        metrics.reconcilePruned.inc(deleted);
        if (deleted < PRUNE_BATCH || this.stopping.signal.aborted) break;
      }
    } catch (error) {
      logger.warn({ err: error }, 'pruning settled reconciliations failed');
    }
    if (total > 0) logger.info({ pruned: total }, 'settled reconciliations pruned');
  }

  private async reconcile(call: DueCall): Promise<void> {
    const { repository, settings, logger, metrics } = this.deps;
    const { callSid } = call;
    if (await repository.hasFinalRecording(callSid)) {
      await repository.settle(callSid, this.owner, 'stored', null);
      metrics.reconciled.inc({ outcome: 'stored' });
      return;
    }

    let listed: ListedRecording[];
    try {
      listed = await listCallRecordings(
        this.deps.api,
        callSid,
        settings.requestTimeoutMs,
        this.stopping.signal,
      );
    } catch (error) {
      // Stopping: the lease expires and another replica (or this one, restarted) asks.
      if (this.stopping.signal.aborted) return;
      logger.warn({ callSid, err: error }, 'could not list the recordings of a call');
      await this.notYet(call, null);
      return;
    }

    const ours = listed.filter((recording) => recording.call_sid === callSid);
    for (const recording of ours) {
      const callback = asCallback(recording.status);
      if (callback) await this.publishCallback(callSid, recording, callback);
    }
    const statuses = ours.map((recording) => recording.status);
    const summary = statuses.length > 0 ? [...new Set(statuses)].sort().join(',') : 'none';
    const pending =
      statuses.length === 0 || statuses.some((s) => s !== 'completed' && !FINAL_WITHOUT_FILE.has(s));
    if (pending) {
      await this.notYet(call, summary);
      return;
    }
    const outcome = statuses.includes('completed') ? 'recovered' : 'twilio-final';
    await repository.settle(callSid, this.owner, outcome, summary);
    metrics.reconciled.inc({ outcome });
    logger.info(
      { callSid, recordingSids: ours.map((r) => r.sid), twilioStatus: summary },
      'recording callbacks reconciled from twilio',
    );
  }

  /**
   * Twilio has no final answer yet (still processing, nothing listed, or the list failed): ask again with
   * backoff, until the bound; then the call is recorded as missing, so no call is asked about forever.
   */
  private async notYet(call: DueCall, twilioStatus: string | null): Promise<void> {
    const { repository, settings, logger, metrics } = this.deps;
    if (call.endedForMs - settings.afterMs < settings.giveUpMs) {
      const delayMs = backoffDelayMs(settings.retry, call.checks + 1);
      await repository.postpone(call.callSid, this.owner, delayMs, twilioStatus);
      return;
    }
    await repository.settle(call.callSid, this.owner, 'recording-missing', twilioStatus);
    metrics.reconciled.inc({ outcome: 'recording-missing' });
    logger.warn(
      { callSid: call.callSid, twilioStatus, checks: call.checks + 1 },
      'recording missing: twilio has not completed it in time',
    );
  }

  /** The callback the gateway would have published for this recording, under the same message id. */
  private async publishCallback(
    callSid: string,
    recording: ListedRecording,
    status: Callback,
  ): Promise<void> {
    const { api, js, subjects, settings } = this.deps;
    const duration = Number(recording.duration);
    const event = recordingEvents.status({
      callSid,
      at: new Date().toISOString(),
      accountSid: settings.accountSid,
      recordingSid: recording.sid,
      status,
      recordingUrl: api.recordingUrl(recording.sid),
      durationSeconds: Number.isInteger(duration) && duration >= 0 ? duration : undefined,
      channels: recording.channels === 1 || recording.channels === 2 ? recording.channels : undefined,
      source: recording.source ?? undefined,
      startTime: recording.start_time ?? undefined,
      errorCode: recording.error_code == null ? undefined : String(recording.error_code),
    });
    await publishEvent(js, subjects.recording(callSid, status), event, `${recording.sid}:${status}`);
  }
}

/** The callback a listed status stands for; none while Twilio is still working on it (or it was deleted). */
function asCallback(status: string): Callback | undefined {
  return status === 'completed' || status === 'absent' || status === 'failed' ? status : undefined;
}
