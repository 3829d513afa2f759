import type { JetStreamClient } from '@nats-io/jetstream';
import { CalltxError, type Subjects } from '@calltx/events';
import { readTranscriptFinals } from '@calltx/nats';
import type { Logger } from '@calltx/runtime';
import type { ObjectStore } from '@calltx/storage';
import type { CallsRepo } from '../db/calls-repo.js';
import type {
  ClaimedAudit,
  LiveFinalsAudits,
  LiveFinalsAuditSettings,
  RecordedFinal,
} from '../db/live-finals-audits.js';
import type { IngestMetrics } from '../metrics.js';
import { LiveTrack, onGrid } from './live-track.js';
import { replayStoredAudio } from './resume.js';
import type { FinalReissuer } from './speech-publisher.js';

export interface LiveFinalsAuditorDeps {
  js: JetStreamClient;
  subjects: Subjects;
  store: ObjectStore;
  repo: CallsRepo;
  audits: LiveFinalsAudits;
  reissue: FinalReissuer;
  metrics: IngestMetrics;
  logger: Logger;
  /** The segmenter's VAD window: a replay starts on the grid of the path that cut the final. */
  windowMs: number;
  settings: LiveFinalsAuditSettings;
}

/** Audio replayed past a final's end: the silence after it, which closed the utterance when it was live. */
const REPLAY_TAIL_MS = 1_000;
/** Longest wait between two checks of a call. */
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * The end-to-end check of the live path: JetStream (NATS 2.9.10 clusters) can lose messages it acknowledged, so
 * a live final stream-ingest published and recorded may never reach the transcriber. Some time after a call's
 * WAVs are stored, every recorded final without a live transcript final (same speaker and sequence) in
 * TRANSCRIPTS is published again, cut anew from the stored audio; the call is checked again with backoff until
 * all are there or the audit gives up. One audit at a time per replica, each under a lease in its row.
 */
export class LiveFinalsAuditor {
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: LiveFinalsAuditorDeps) {}

  /** Called on every sweep: works through the due audits unless it is doing so already (not awaited). */
  runDue(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain()
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'live finals audits failed'))
      .finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const [audit] = await this.deps.audits.claimDue(1);
      if (!audit) return;
      await this.audit(audit);
    }
  }

  /** One attempt; never throws (a failed attempt is rescheduled). */
  async audit(audit: ClaimedAudit): Promise<void> {
    const { audits, logger, settings } = this.deps;
    const { callSid, attempt } = audit;
    const backoffMs = Math.min(settings.afterMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    try {
      const finals = await audits.finals(callSid);
      // Its transcripts come after the call's first final was recorded.
      const since = Math.min(...finals.map((f) => f.publishedAt.getTime()));
      const stored =
        finals.length === 0
          ? []
          : await readTranscriptFinals(this.deps.js, this.deps.subjects, callSid, new Date(since));
      const transcribed = new Set(
        stored.filter((f) => f.source === 'live').map((f) => `${f.speaker}:${f.sequence}`),
      );
      const missing = finals.filter((f) => !transcribed.has(`${f.speaker}:${f.sequence}`));
      if (missing.length === 0) {
        logger.info({ callSid, finals: finals.length, attempt }, 'live finals all transcribed');
        await audits.finish(callSid, 'complete');
        return;
      }
      if (audit.pastGiveUp) {
        this.deps.metrics.liveFinalsMissing.inc(missing.length);
        logger.warn(
          { callSid, missing: missing.length, finals: finals.length, attempts: attempt },
          'live finals missing',
        );
        await audits.finish(callSid, 'gave-up');
        return;
      }
      for (const final of missing) {
        if (!(await audits.renew(callSid))) return;
        // Shutting down: another replica takes it over at once rather than when the lease lapses.
        if (this.stopped) return await audits.reschedule(callSid, 0);
        const previous = finals.findLast((f) => f.speaker === final.speaker && f.sequence < final.sequence);
        await this.reissue(callSid, final, previous, attempt);
      }
      await audits.reschedule(callSid, backoffMs);
    } catch (error) {
      logger.error({ err: error, callSid, attempt }, 'live finals audit failed; retrying later');
      await audits.reschedule(callSid, backoffMs).catch(() => undefined); // else the lease lapses
    }
  }

  /**
   * Cuts the final again from the stored audio, from the end of the speaker's previous final (or the start of the
   * path that cut it) through a fresh segmenter numbered after that final, as a replica taking the call over
   * would, and publishes it under the same segment id.
   */
  private async reissue(
    callSid: string,
    final: RecordedFinal,
    previous: RecordedFinal | undefined,
    attempt: number,
  ): Promise<void> {
    const { store, repo, logger, metrics } = this.deps;
    const { speaker, sequence } = final;
    const file = (await repo.files(callSid)).find((f) => f.speaker === speaker && f.sampleRate === 8000);
    if (!file) throw new CalltxError(`call ${callSid} has no stored 8 kHz audio of ${speaker}`);
    const { sink, published } = this.deps.reissue(callSid, speaker, previous, { sequence, attempt });
    await replayStoredAudio({
      store,
      wavKey: file.key,
      live: new LiveTrack(sink),
      fromMs: onGrid(final.pathStartMs, previous?.endMs ?? final.pathStartMs, this.deps.windowMs),
      toMs: Math.min(final.endMs + REPLAY_TAIL_MS, file.durationMs),
    });
    const segment = await published;
    if (!segment) {
      logger.warn({ callSid, speaker, sequence, attempt }, 'live final not cut again from the stored audio');
      return;
    }
    metrics.liveFinalsReissued.inc();
    logger.info(
      {
        callSid,
        speaker,
        segmentId: segment.segmentId,
        startMs: segment.startMs,
        endMs: segment.endMs,
        attempt,
      },
      'live final reissued',
    );
  }
}
