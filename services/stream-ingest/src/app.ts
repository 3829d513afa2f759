import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { CallEvent, type Subjects } from '@calltx/events';
import {
  consumerMetrics,
  ensureDurableConsumer,
  runConsumer,
  startErasureConsumer,
  type RunningConsumer,
} from '@calltx/nats';
import { createServiceHttp, type Logger, type ServiceHttp } from '@calltx/runtime';
import { type CallClaims } from './claims/index.js';
import { type ObjectStore } from '@calltx/storage';
import { type Pool } from '@calltx/db';
import { SEGMENTER_DEFAULTS, VAD_SAMPLE_RATE, VAD_WINDOW_SAMPLES } from '@calltx/speech';
import { CallManager } from './calls/call-manager.js';
import { lifecycleHandler } from './calls/lifecycle.js';
import type { CallTiming } from './calls/owned-call.js';
import type { IngestConfig } from './config.js';
import { CallsRepo } from './db/calls-repo.js';
import { CallErasure } from './erasure/call-erasure.js';
import { speechPublisher, type SegmenterLike } from './live/speech-publisher.js';
import { createIngestMetrics, type IngestMetrics } from './metrics.js';

/** The durable consumer on CALLS that every replica shares. */
export const LIFECYCLE_CONSUMER = 'stream-ingest';

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
  isNatsConnected: () => boolean;
  /** NATS_STREAM_REPLICAS: per-call consumers keep their state in memory when the streams are replicated. */
  streamReplicas: number;
}

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
    },
    claims,
    { sweepIntervalMs: deps.sweepIntervalMs, partRecoveryIntervalMs: deps.partRecoveryIntervalMs },
  );
  const http = createServiceHttp({
    registry,
    checks: {
      nats: deps.isNatsConnected,
      postgres: async () => (await pool.query('SELECT 1')).rowCount === 1,
      s3: async () => {
        await store.ping();
        return true;
      },
    },
  });
  let lifecycle: RunningConsumer | undefined;
  let erasures: RunningConsumer | undefined;

  return {
    http,
    metrics,
    manager,
    repo,
    async start() {
      await ensureDurableConsumer(
        jsm,
        {
          stream: subjects.streamName('calls'),
          name: LIFECYCLE_CONSUMER,
          filterSubject: subjects.all('calls'),
          ackWaitMs: 30_000,
          maxDeliver: deps.lifecycleMaxDeliver,
          maxAckPending: 1_000,
        },
        logger,
      );
      lifecycle = await runConsumer({
        js,
        subjects,
        stream: subjects.streamName('calls'),
        consumer: LIFECYCLE_CONSUMER,
        maxDeliver: deps.lifecycleMaxDeliver,
        schema: CallEvent,
        handle: lifecycleHandler(repo, manager, logger, (callSid) => erasure.isErased(callSid)),
        logger,
        metrics: consumerMetrics(registry),
        concurrency: 4,
      });
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
      await Promise.all([lifecycle?.stop(), erasures?.stop()]);
    },
    releaseCalls: () => manager.stop(),
  };
}
