import type { Logger } from '@calltx/runtime';
import type { ErasureCoordinator } from './coordinator.js';
import type { ErasureAttempt } from './erasures-repository.js';

export interface ErasureSweeperSettings {
  /** RETENTION_DAYS: 0 erases nothing by age. */
  retentionDays: number;
  resumeAfterSeconds: number;
  intervalMs: number;
}

/** Claims per sweep, so one sweep stays short; the next sweep takes the rest. */
const BATCH = 100;

/**
 * Every replica sweeps on its own timer: unfinished erasures are asked again (crash resume) and, with
 * RETENTION_DAYS, calls past it are erased. Rows are claimed by conditional UPDATE / INSERT ON CONFLICT, so
 * replicas sweeping at once never ask twice for the same thing in one round.
 */
export class ErasureSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly coordinator: ErasureCoordinator,
    private readonly settings: ErasureSweeperSettings,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'erasure sweep failed, next one retries'))
        .finally(() => (this.running = undefined));
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: resume, then retention. Returns what it asked for. */
  async sweep(): Promise<{ resumed: string[]; expired: string[] }> {
    const { repository } = this.coordinator;
    const resumed = await repository.claimStale(this.settings.resumeAfterSeconds, BATCH);
    await this.publish(resumed);
    const expired =
      this.settings.retentionDays > 0
        ? await repository.requestExpired(this.settings.retentionDays, BATCH)
        : [];
    await this.publish(expired);
    if (resumed.length > 0 || expired.length > 0)
      this.logger.info(
        { resumed: resumed.length, expired: expired.length },
        'erasures requested by the sweeper',
      );
    return { resumed: resumed.map((a) => a.callSid), expired: expired.map((a) => a.callSid) };
  }

  private async publish(attempts: readonly ErasureAttempt[]): Promise<void> {
    // A request that fails to publish stays claimed and unfinished: a later sweep asks again.
    for (const attempt of attempts) await this.coordinator.publishRequest(attempt);
  }
}
