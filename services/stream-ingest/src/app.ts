import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { CallEvent, TranscriptEvent, type Subjects } from '@calltx/events';
import { CallParties } from '@calltx/events/internal';
import {
  consumerMetrics,
  startDurableConsumer,
  startErasureConsumer,
  type RunningConsumer,
} from '@calltx/nats';
import { createServiceHttp, type Logger, type ServiceHttp } from '@calltx/runtime';
import { type CallClaims } from './claims/index.js';
import { type ObjectStore } from '@calltx/storage';
import { databaseAnswers, type Pool } from '@calltx/db';
import { SEGMENTER_DEFAULTS, VAD_SAMPLE_RATE, VAD_WINDOW_SAMPLES } from '@calltx/speech';
import { CallManager } from './calls/call-manager.js';
import { lifecycleHandler } from './calls/lifecycle.js';
import type { CallTiming } from './calls/owned-call.js';
import type { IngestConfig } from './config.js';
import { CallsRepo } from './db/calls-repo.js';
import { LiveFinalsAudits, type LiveFinalsAuditSettings } from './db/live-finals-audits.js';
import { CallErasure } from './erasure/call-erasure.js';
import { LiveFinalsAuditor } from './live/live-finals-audit.js';
import { finalReissuer, speechPublisher, type SegmenterLike } from './live/speech-publisher.js';
import { createIngestMetrics, type IngestMetrics } from './metrics.js';
import { redactionHandler, type AudioRedaction } from './redaction/stream-redaction.js';

/** The durable consumer on CALLS that every replica shares. */
export const LIFECYCLE_CONSUMER = 'stream-ingest';
/** The durable consumer on PARTIES (numbers in clear, only with the gateway's STORE_CALLER_NUMBERS). */
export const PARTIES_CONSUMER = 'stream-ingest-parties';

/** Its durable consumer of the public transcript finals (AUDIO_REDACT): their redacted spans. */
export const REDACTIONS_CONSUMER = 'stream-ingest-redactions';

export interface StreamIngestDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  store: ObjectStore;
  pool: Pool;
  claims: CallClaims;
  logger: Logger;
  registry: Registry;
  /** A VAD segmenter for one speaker's live stream (`new Segmenter(vad, { streamId })` of @calltx/speech). */
  createSegmenter: (streamId: string) => SegmenterLike;
  timing: CallTiming;
  sweepIntervalMs: number;
  /** Deliveries of a lifecycle event before one that keeps failing is dead-lettered (DEADLETTER_MAX_DELIVER). */
  lifecycleMaxDeliver: number;
  /** How often set-aside unreadable parts are retried (default 60 s). */
  partRecoveryIntervalMs?: number;
  /** INGEST_PART_RECOVERY_GIVE_UP_MS: how long they are retried before the sweep gives up on them. */
  partRecoveryGiveUpMs: number;
  isNatsConnected: () => boolean;
  /** NATS_STREAM_REPLICAS: per-call consumers keep their state in memory when the streams are replicated. */
  streamReplicas: number;
  /** AUDIO_REDACT on (undefined: off): stream WAVs get the live finals' redacted spans covered. */
  audioRedaction?: AudioRedaction;
  /** LIVE_FINALS_AUDIT_AFTER_MS and _GIVE_UP_MS (undefined: the audit is off). */
  liveFinalsAudit?: LiveFinalsAuditSettings;
}

/** An audit's lease: renewed before each final it reissues (seconds each), so only a dead holder lets it lapse. */
const LIVE_FINALS_AUDIT_LEASE_MS = 60_000;

export interface StreamIngest {
  http: ServiceHttp;
  metrics: IngestMetrics;
  manager: CallManager;
  repo: CallsRepo;
  /** Starts consuming call lifecycle events and sweeping. */
  start(): Promise<void>;
  /** Stops taking new calls (lifecycle consumer and sweeper); owned calls carry on. */
  stopIntake(): Promise<void>;
  /** Stores what owned calls hold and releases them to other replicas. */
  releaseCalls(): Promise<void>;
}

/**
 * Call timing from the configuration; the rest are fixed ratios of it. `natsMaxPayload` is the server's largest
 * message (`nc.info.max_payload`): the fetch window must hold one.
 */
export function timingFromConfig(
  config: Pick<IngestConfig, 'INGEST_PART_FLUSH_MS' | 'STREAM_IDLE_FINALIZE_MS'>,
  natsMaxPayload = 1024 * 1024,
): CallTiming {
  const partFlushMs = config.INGEST_PART_FLUSH_MS;
  return {
    partFlushMs,
    // 60 s of one track: bounds a part's size (and memory) while catching up on a backlog.
    maxPartFrames: 3_000,
    idleFinalizeMs: config.STREAM_IDLE_FINALIZE_MS,
    endedGraceMs: Math.min(5_000, config.STREAM_IDLE_FINALIZE_MS),
    lingerMs: 5_000,
    // Well past a part's flush and upload, so only a crash (not a slow upload) makes JetStream redeliver.
    ackWaitMs: Math.max(30_000, 6 * partFlushMs),
    // Two parts in flight per track with one frame per message, and room to spare.
    maxAckPending: 20_000,
    fetchMaxBytes: Math.max(1024 * 1024, 2 * natsMaxPayload),
    liveResume: {
      windowMs: (VAD_WINDOW_SAMPLES * 1000) / VAD_SAMPLE_RATE,
      // An utterance in progress began at most its longest length before the crash; a second more warms the VAD.
      lookbackMs: SEGMENTER_DEFAULTS.maxUtteranceMs + 1_000,
    },
  };
}

export function createStreamIngest(deps: StreamIngestDeps): StreamIngest {
  const { js, jsm, subjects, store, pool, claims, logger, registry } = deps;
  const metrics = createIngestMetrics(registry);
  const repo = new CallsRepo(pool);
  const erasure = new CallErasure(pool, repo, store);
  const speechSinks = speechPublisher({
    js,
    subjects,
    logger,
    metrics,
    createSegmenter: deps.createSegmenter,
    recordFinal: (callSid, speaker, progress) => repo.recordLiveFinal(callSid, speaker, progress),
  });
  const auditor =
    deps.liveFinalsAudit &&
    new LiveFinalsAuditor({
      js,
      subjects,
      store,
      repo,
      audits: new LiveFinalsAudits(pool, randomUUID(), LIVE_FINALS_AUDIT_LEASE_MS),
      reissue: finalReissuer({ js, subjects, createSegmenter: deps.createSegmenter }),
      metrics,
      logger,
      windowMs: deps.timing.liveResume.windowMs,
      settings: deps.liveFinalsAudit,
    });
  const manager = new CallManager(
    {
      js,
      jsm,
      subjects,
      store,
      repo,
      metrics,
      logger,
      speechSinks,
      timing: deps.timing,
      replicated: deps.streamReplicas > 1,
      audioRedaction: deps.audioRedaction,
      liveFinalsAudit: deps.liveFinalsAudit,
    },
    claims,
    {
      sweepIntervalMs: deps.sweepIntervalMs,
      partRecoveryIntervalMs: deps.partRecoveryIntervalMs,
      partRecoveryGiveUpMs: deps.partRecoveryGiveUpMs,
      auditor,
    },
  );
  const http = createServiceHttp({
    registry,
    checks: {
      nats: deps.isNatsConnected,
      postgres: () => databaseAnswers(pool),
      storage: async () => {
        await store.ping();
        return true;
      },
    },
  });
  const consumed = consumerMetrics(registry);
  let lifecycle: RunningConsumer | undefined;
  let parties: RunningConsumer | undefined;
  let redactions: RunningConsumer | undefined;
  let erasures: RunningConsumer | undefined;

  return {
    http,
    metrics,
    manager,
    repo,
    async start() {
      lifecycle = await startDurableConsumer({
        jsm,
        js,
        subjects,
        spec: {
          stream: subjects.streamName('calls'),
          name: LIFECYCLE_CONSUMER,
          filterSubject: subjects.all('calls'),
          ackWaitMs: 30_000,
          maxDeliver: deps.lifecycleMaxDeliver,
          maxAckPending: 1_000,
        },
        schema: CallEvent,
        handle: lifecycleHandler(repo, manager, logger, (callSid) => erasure.isErased(callSid)),
        logger,
        metrics: consumed,
        concurrency: 4,
      });
      parties = await startDurableConsumer({
        jsm,
        js,
        subjects,
        spec: {
          stream: subjects.streamName('parties'),
          name: PARTIES_CONSUMER,
          filterSubject: subjects.all('parties'),
          ackWaitMs: 30_000,
          maxDeliver: deps.lifecycleMaxDeliver,
          maxAckPending: 1_000,
        },
        schema: CallParties,
        handle: (event) => repo.callParties(event),
        logger,
        metrics: consumed,
      });
      if (deps.audioRedaction) {
        redactions = await startDurableConsumer({
          jsm,
          js,
          subjects,
          spec: {
            stream: subjects.streamName('transcripts'),
            name: REDACTIONS_CONSUMER,
            filterSubject: subjects.allTranscripts('final'),
            ackWaitMs: 60_000,
            maxDeliver: deps.lifecycleMaxDeliver,
            maxAckPending: 1_000,
          },
          schema: TranscriptEvent,
          handle: redactionHandler({
            isErased: (callSid) => erasure.isErased(callSid),
            store,
            repo,
            metrics,
            logger,
            claims,
            audioRedaction: deps.audioRedaction,
          }),
          logger,
          metrics: consumed,
          concurrency: 4,
        });
      }
      erasures = await startErasureConsumer({
        js,
        jsm,
        subjects,
        service: 'stream-ingest',
        erase: (callSid) => erasure.erase(callSid),
        logger,
        registry,
        maxDeliver: deps.lifecycleMaxDeliver,
      });
      manager.start();
    },
    async stopIntake() {
      await Promise.all([lifecycle?.stop(), parties?.stop(), redactions?.stop(), erasures?.stop()]);
    },
    releaseCalls: () => manager.stop(),
  };
}
