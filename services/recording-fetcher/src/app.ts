import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { RetryPolicy } from '@calltx/retry';
import { CallEvent, RecordingEvent, TranscriptEvent, type Subjects } from '@calltx/events';
import {
  consumerMetrics,
  startDurableConsumer,
  startErasureConsumer,
  type RunningConsumer,
} from '@calltx/nats';
import { databaseAnswers } from '@calltx/db';
import { createObjectStore, objectStoreConfig, type ObjectStore } from '@calltx/storage';
import { createServiceHttp, type Logger, type ServiceHttp } from '@calltx/runtime';
import type { FetcherConfig } from './config.js';
import { ReconcileRepository } from './db/reconcile-repository.js';
import { CallErasure } from './erasure/call-erasure.js';
import { RecordingsRepository } from './db/recordings-repository.js';
import { createFetcherMetrics, type FetcherMetrics } from './metrics.js';
import { RecordingProcessor } from './processing/recording-processor.js';
import { RecordingReconciler } from './processing/recording-reconciler.js';
import { recordingRedactionHandler, type AudioRedaction } from './redaction/recording-redaction.js';
import { TwilioRecordingApi } from './twilio/recording-api.js';
import { RedirectPolicy } from './twilio/redirect-policy.js';

/**
 * Part size of the fetcher's uploads: S3's minimum, since three uploads run at once and each holds one part.
 * Memory per recording is about 3 × (part + ahead space); bench:fetcher measures it.
 */
export const UPLOAD_PART_BYTES = 5 * 1024 * 1024;
/** Bytes each upload keeps taking while the store takes a part, so the download goes on meanwhile. */
export const UPLOAD_AHEAD_BYTES = 256 * 1024;

/** The durable consumer every replica shares. */
export const CONSUMER_NAME = 'recording-fetcher';
/** Its consumer of `calls.v1.*.ended`, which tells the reconciler which calls to check. */
export const ENDED_CALLS_CONSUMER_NAME = 'recording-fetcher-ended-calls';
/** Its consumer of the public transcript finals (AUDIO_REDACT): the recording finals' redacted spans. */
export const REDACTIONS_CONSUMER_NAME = 'recording-fetcher-redactions';
/** Redeliveries of one callback before JetStream gives up (infrastructure outages are retried with backoff up to 30 s). */
const MAX_DELIVER = 100;
/** Longest wait between two downloads of a recording, or two checks of a call at Twilio. */
const FETCH_RETRY_CAP_MS = 60_000;

export interface FetcherDeps {
  config: FetcherConfig;
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  pool: pg.Pool;
  store: ObjectStore;
  logger: Logger;
  registry: Registry;
  isNatsConnected: () => boolean;
}

export interface RecordingFetcher {
  http: ServiceHttp;
  metrics: FetcherMetrics;
  repository: RecordingsRepository;
  /** Creates or updates the durable consumers and starts handling callbacks and reconciling ended calls. */
  start(): Promise<void>;
  /**
   * Stops taking callbacks and waits for those in flight, up to `waitMs`; then abandons them (their uploads are
   * aborted and JetStream redelivers them to another replica). Reconciliation stops after the call in hand.
   */
  stop(waitMs: number): Promise<void>;
}

/** The object store as the fetcher uses it (its part size sets the fetcher's memory use). */
export function createFetcherStore(config: FetcherConfig): ObjectStore {
  return createObjectStore({
    ...objectStoreConfig(config),
    partSizeBytes: UPLOAD_PART_BYTES,
    aheadBytes: UPLOAD_AHEAD_BYTES,
    // Each recording in progress writes three objects at once.
    keptUploadBuffers: 3 * config.RECORDING_CONCURRENCY,
  });
}

export function createRecordingFetcher(deps: FetcherDeps): RecordingFetcher {
  const { config, js, jsm, subjects, pool, store, logger, registry } = deps;
  const metrics = createFetcherMetrics(registry);
  const repository = new RecordingsRepository(pool);
  const shutdown = new AbortController();
  const api = new TwilioRecordingApi(
    config.TWILIO_API_BASE_URL,
    config.TWILIO_ACCOUNT_SID,
    config.TWILIO_AUTH_TOKEN,
  );
  const speakers = config.RECORDING_CHANNEL_SPEAKERS;
  const audioRedaction: AudioRedaction | undefined = config.AUDIO_REDACT
    ? { fill: config.AUDIO_REDACT_FILL }
    : undefined;
  // The fetcher's one retry curve: downloads within a delivery, and the reconciler's checks at Twilio.
  const fetchRetry: RetryPolicy = {
    attempts: config.RECORDING_FETCH_ATTEMPTS,
    baseMs: config.RECORDING_FETCH_BACKOFF_MS,
    capMs: FETCH_RETRY_CAP_MS,
    jitter: 0,
  };
  const erasure = new CallErasure(pool, store, api, config.RECORDING_DOWNLOAD_TIMEOUT_MS);
  const processor = new RecordingProcessor({
    isErased: (callSid) => erasure.isErased(callSid),
    settings: {
      accountSid: config.TWILIO_ACCOUNT_SID,
      channelSpeakers: [speakers['1']!, speakers['2']!],
      limits: {
        timeoutMs: config.RECORDING_DOWNLOAD_TIMEOUT_MS,
        minBytesPerSec: config.RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC,
        maxBytes: config.RECORDING_MAX_BYTES,
      },
      retry: fetchRetry,
      ackWaitMs: config.RECORDING_ACK_WAIT_MS,
      deleteAfterStore: config.RECORDING_DELETE_AFTER_STORE,
    },
    repository,
    store,
    js,
    subjects,
    api,
    policy: new RedirectPolicy(api.origin, config.RECORDING_REDIRECT_HOSTS),
    logger,
    metrics,
    signal: shutdown.signal,
    audioRedaction,
  });

  const reconciler = new RecordingReconciler({
    settings: {
      accountSid: config.TWILIO_ACCOUNT_SID,
      afterMs: config.RECORDING_RECONCILE_AFTER_MS,
      giveUpMs: config.RECORDING_RECONCILE_GIVE_UP_MS,
      keepMs: config.RECORDING_RECONCILE_KEEP_MS,
      retry: fetchRetry,
      requestTimeoutMs: config.RECORDING_DOWNLOAD_TIMEOUT_MS,
    },
    repository: new ReconcileRepository(pool),
    api,
    js,
    subjects,
    logger,
    metrics,
  });

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
  let consumer: RunningConsumer | undefined;
  let endedCalls: RunningConsumer | undefined;
  let redactions: RunningConsumer | undefined;
  let erasures: RunningConsumer | undefined;
  return {
    http,
    metrics,
    repository,
    async start() {
      consumer = await startDurableConsumer({
        jsm,
        js,
        subjects,
        spec: {
          stream: subjects.streamName('recordings'),
          name: CONSUMER_NAME,
          filterSubject: subjects.all('recordings'),
          ackWaitMs: config.RECORDING_ACK_WAIT_MS,
          maxDeliver: MAX_DELIVER,
          maxAckPending: Math.max(16, config.RECORDING_CONCURRENCY * 4),
        },
        schema: RecordingEvent,
        handle: (event, msg) => processor.handle(event, msg),
        logger,
        metrics: consumed,
        concurrency: config.RECORDING_CONCURRENCY,
      });
      endedCalls = await startDurableConsumer({
        jsm,
        js,
        subjects,
        spec: {
          stream: subjects.streamName('calls'),
          name: ENDED_CALLS_CONSUMER_NAME,
          filterSubject: subjects.allCalls('ended'),
          ackWaitMs: config.RECORDING_ACK_WAIT_MS,
          maxDeliver: MAX_DELIVER,
          maxAckPending: 64,
        },
        schema: CallEvent,
        // An erased call's end (a redelivery) must not start a check that would find its recordings again.
        handle: async (event) => {
          if (!(await erasure.isErased(event.callSid))) await reconciler.handleCallEvent(event);
        },
        logger,
        metrics: consumed,
      });
      if (audioRedaction) {
        redactions = await startDurableConsumer({
          jsm,
          js,
          subjects,
          spec: {
            stream: subjects.streamName('transcripts'),
            name: REDACTIONS_CONSUMER_NAME,
            filterSubject: subjects.allTranscripts('final'),
            ackWaitMs: config.RECORDING_ACK_WAIT_MS,
            maxDeliver: MAX_DELIVER,
            maxAckPending: 256,
          },
          schema: TranscriptEvent,
          handle: recordingRedactionHandler({
            isErased: (callSid) => erasure.isErased(callSid),
            store,
            repository,
            metrics,
            logger,
            audioRedaction,
            leaseMs: config.RECORDING_ACK_WAIT_MS,
          }),
          logger,
          metrics: consumed,
        });
      }
      erasures = await startErasureConsumer({
        js,
        jsm,
        subjects,
        service: 'recording-fetcher',
        erase: (callSid) => erasure.erase(callSid),
        logger,
        registry,
        maxDeliver: MAX_DELIVER,
      });
      reconciler.start();
    },
    async stop(waitMs) {
      if (!consumer) return;
      const stopped = Promise.all([
        consumer.stop(),
        endedCalls?.stop(),
        redactions?.stop(),
        erasures?.stop(),
        reconciler.stop(),
      ]);
      const timer = setTimeout(() => shutdown.abort(), waitMs);
      await stopped;
      clearTimeout(timer);
    },
  };
}
