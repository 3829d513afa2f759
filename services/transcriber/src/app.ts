import type { ConsumerInfo, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { SpeechSegment, TranscriptionJob } from '@calltx/events/internal';
import { createServiceHttp, type Logger, type ReadinessCheck, type ServiceHttp } from '@calltx/runtime';
import {
  DeadLetters,
  ensureDurableConsumer,
  followErasedCalls,
  runConsumer,
  startErasureConsumer,
  StrandedMessages,
  stepDownConsumerLeader,
  type RunningConsumer,
  type StrandedAction,
} from '@calltx/nats';
import { databaseAnswers } from '@calltx/db';
import { type ObjectStore } from '@calltx/storage';
import { CallStarted, type Subjects } from '@calltx/events';
import { CallSettings } from './calls/call-settings.js';
import { CallSettingsStore } from './calls/settings-store.js';
import { threadsPerInference, type TranscriberConfig } from './config.js';
import { CONSUMER_NAMES, consumerSpecs, type ConsumerKind } from './consumers.js';
import { TranscriptStore } from './db/transcript-store.js';
import { CallErasure } from './erasure/call-erasure.js';
import { ModelLoader, type LoadedModels, type ModelStatus } from './engine/model-loader.js';
import { handleFinal, handlePartial, type LiveDeps } from './live/segment-handler.js';
import { PartialGate } from './live/partial-gate.js';
import { createTranscriberMetrics, type TranscriberMetrics } from './metrics.js';
import { handleRecordingJob } from './recording/job-handler.js';
import { PublishedFinals } from './transcripts/published-finals.js';
import { TranscriptPublisher } from './transcripts/publisher.js';
import { TranscriptRedactor } from './transcripts/redaction.js';
import { Puller } from './work/puller.js';
import { WorkSlots } from './work/slots.js';

export interface TranscriberDeps {
  config: TranscriberConfig;
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  pool: pg.Pool;
  objects: ObjectStore;
  logger: Logger;
  registry: Registry;
  isNatsConnected: () => boolean;
  /** For the JetStream API requests nats.js does not wrap (a consumer leader's step-down). */
  nc: NatsConnection;
}

export interface Transcriber {
  http: ServiceHttp;
  metrics: TranscriberMetrics;
  store: TranscriptStore;
  modelStatus(): ModelStatus;
  /**
   * Creates the durable consumers, then loads the model in the background (retrying while it is missing or
   * corrupt) and starts consuming once it is loaded; `consuming` resolves then.
   */
  start(): Promise<void>;
  readonly consuming: Promise<void>;
  /** Stops fetching, hands back work not started, waits up to `graceMs` for inferences running, frees the model. */
  stop(graceMs: number): Promise<void>;
}

/**
 * The work-queue consumers and what becomes of a message their stream strands (packages/nats stranded.ts): live
 * finals and recording jobs are requeued, a late partial is worthless. calls.v1 is a limits stream: nothing strands.
 */
const WHEN_STRANDED: Partial<Record<ConsumerKind, StrandedAction>> = {
  final: 'requeue',
  partial: 'drop',
  recording: 'requeue',
};
/** Longer than an ack takes to remove its message, after the ack floor moved past it. */
const STRANDED_CONFIRM_MS = 10_000;
/** A message stranded this often kills whoever takes it: dead-lettered instead. */
const STRANDED_MAX_REQUEUES = 3;

export function createTranscriber(deps: TranscriberDeps): Transcriber {
  const { config, js, jsm, subjects, logger } = deps;
  const metrics = createTranscriberMetrics(deps.registry);
  const store = new TranscriptStore(deps.pool);
  const callSettingsStore = new CallSettingsStore(deps.pool);
  const erasure = new CallErasure(deps.pool);
  const slots = new WorkSlots(config.TRANSCRIBER_CONCURRENCY);
  const gate = new PartialGate(config.PARTIAL_MAX_AGE_MS);
  const specs = consumerSpecs(subjects, config.TRANSCRIBER_ACK_WAIT_MS, config.DEADLETTER_MAX_DELIVER);
  let models: LoadedModels | undefined;
  let status: ModelStatus = { state: 'loading' };
  const publisher = new TranscriptPublisher(js, subjects, metrics, () => models?.recognizer.modelId ?? '');
  const redactor = new TranscriptRedactor(config.TRANSCRIPT_REDACT);

  // /readyz lists failing check names: the model's carries the reason, so an operator sees what is wrong.
  const checks: Record<string, ReadinessCheck> = {
    nats: deps.isNatsConnected,
    postgres: () => databaseAnswers(deps.pool),
  };
  const setModelStatus = (next: ModelStatus) => {
    status = next;
    for (const name of Object.keys(checks)) if (name.startsWith('model')) delete checks[name];
    if (next.state === 'ready') checks.model = () => true;
    else checks[next.state === 'loading' ? 'model (loading)' : `model: ${next.reason}`] = () => false;
    metrics.modelReady.set(next.state === 'ready' ? 1 : 0);
  };
  setModelStatus(status);
  const http = createServiceHttp({ registry: deps.registry, checks });

  const loader = new ModelLoader({
    recognizer: {
      modelDir: config.WHISPER_MODEL_DIR,
      quantized: config.WHISPER_QUANTIZED,
      instances: config.TRANSCRIBER_CONCURRENCY,
      threads: threadsPerInference(config),
      language: config.WHISPER_LANGUAGE,
      prompt: config.WHISPER_PROMPT,
    },
    retryMs: config.WHISPER_MODEL_RETRY_MS,
    logger,
    onStatus: setModelStatus,
  });

  const pullers: Array<Puller<typeof SpeechSegment> | Puller<typeof TranscriptionJob>> = [];
  const heartbeatMs = Math.max(250, Math.floor(config.TRANSCRIBER_ACK_WAIT_MS / 3));
  const common = { js, subjects, logger, metrics: metrics.consumers, heartbeatMs };
  const startConsuming = (loaded: LoadedModels) => {
    const settings = new CallSettings({
      store: callSettingsStore,
      recognizer: loaded.recognizer,
      waitMs: config.CALL_SETTINGS_WAIT_MS,
      logger,
      metrics,
    });
    erasure.onForget((callSid) => settings.forget(callSid));
    const live: LiveDeps = {
      recognizer: loaded.recognizer,
      settings,
      slots,
      gate,
      store,
      publisher,
      publishedFinals: new PublishedFinals(js, subjects),
      redactor,
      metrics,
      logger,
    };
    const concurrency = config.TRANSCRIBER_CONCURRENCY;
    pullers.push(
      new Puller({
        ...common,
        stream: specs.final.stream,
        consumer: specs.final.name,
        maxDeliver: specs.final.maxDeliver,
        schema: SpeechSegment,
        capacity: 2 * concurrency,
        handle: (segment) => erasure.unlessErased(segment.callSid, () => handleFinal(live, segment)),
      }),
      new Puller({
        ...common,
        stream: specs.partial.stream,
        consumer: specs.partial.name,
        maxDeliver: specs.partial.maxDeliver,
        schema: SpeechSegment,
        // Enough held partials to notice superseded ones while finals run.
        capacity: 4 * concurrency,
        // Not checked for erasure: a partial is never stored, and a lookup would age it past PARTIAL_MAX_AGE_MS
        // under load; the call's segments are purged from AUDIO with the call.
        handle: (segment) => handlePartial(live, segment),
      }),
      new Puller({
        ...common,
        stream: specs.recording.stream,
        consumer: specs.recording.name,
        maxDeliver: specs.recording.maxDeliver,
        schema: TranscriptionJob,
        // One job at a time: its steps already fill idle slots, and held jobs would wait for nothing.
        capacity: 1,
        handle: (job, msg) =>
          erasure.unlessErased(job.callSid, () =>
            handleRecordingJob({ ...live, vad: loaded.vad, objects: deps.objects }, job, msg),
          ),
      }),
    );
    for (const puller of pullers) puller.start();
    logger.info({ consumers: Object.values(CONSUMER_NAMES), concurrency }, 'consuming');
  };

  // Each call's language and hints, recorded whether or not the model is loaded yet.
  let callsConsumer: RunningConsumer | undefined;
  const consumeCallStarts = async () => {
    callsConsumer = await runConsumer({
      js,
      subjects,
      logger,
      metrics: metrics.consumers,
      stream: specs.calls.stream,
      consumer: specs.calls.name,
      maxDeliver: specs.calls.maxDeliver,
      schema: CallStarted,
      handle: (event) =>
        erasure.unlessErased(event.callSid, () =>
          callSettingsStore.record({
            callSid: event.callSid,
            language: event.language ?? null,
            hints: event.hints ?? null,
            startedAt: event.at,
          }),
        ),
    });
  };

  const stranded = new StrandedMessages({
    jsm,
    js,
    deadLetters: new DeadLetters(js, subjects),
    logger,
    confirmMs: STRANDED_CONFIRM_MS,
    maxRequeues: STRANDED_MAX_REQUEUES,
    stepDown: (stream, consumer) => stepDownConsumerLeader(deps.nc, stream, consumer),
    onAction: (consumer, outcome) => metrics.strandedMessages.inc({ consumer, outcome }),
  });
  // The call's transcripts and settings go; every replica forgets it from its caches on call.erased.v1.
  let erasures: RunningConsumer | undefined;
  let erased: { stop(): Promise<void> } | undefined;
  const consumeErasures = async () => {
    erasures = await startErasureConsumer({
      js,
      jsm,
      subjects,
      service: 'transcriber',
      erase: (callSid) => erasure.erase(callSid),
      logger,
      registry: deps.registry,
      maxDeliver: config.DEADLETTER_MAX_DELIVER,
    });
    erased = await followErasedCalls(js, subjects, (callSid) => erasure.forget(callSid), logger);
  };

  let lagTimer: NodeJS.Timeout | undefined;
  const pollLag = async () => {
    for (const kind of Object.keys(specs) as ConsumerKind[]) {
      const { stream, name, filterSubject } = specs[kind];
      let info: ConsumerInfo;
      try {
        info = await jsm.consumers.info(stream, name);
      } catch (error) {
        logger.debug({ err: error, consumer: name }, 'consumer lag not read');
        continue;
      }
      metrics.consumerPending.set({ consumer: name }, info.num_pending);
      metrics.consumerAckPending.set({ consumer: name }, info.num_ack_pending);
      const whenStranded = WHEN_STRANDED[kind];
      if (whenStranded)
        await stranded
          .check({ stream, name, filterSubject, whenStranded }, info)
          .catch((error: unknown) =>
            logger.warn({ err: error, consumer: name }, 'stranded messages not freed'),
          );
    }
  };

  let consumingStarted!: () => void;
  const consuming = new Promise<void>((resolve) => (consumingStarted = resolve));
  let loading: Promise<void> | undefined;

  return {
    http,
    metrics,
    store,
    modelStatus: () => status,
    consuming,
    async start() {
      for (const spec of Object.values(specs)) await ensureDurableConsumer(jsm, spec, logger);
      await consumeCallStarts();
      await consumeErasures();
      let polling = false;
      lagTimer = setInterval(() => {
        if (polling) return;
        polling = true;
        void pollLag().finally(() => (polling = false));
      }, config.TRANSCRIBER_LAG_POLL_MS);
      lagTimer.unref();
      loading = loader.run().then((loaded) => {
        if (!loaded) return;
        models = loaded;
        startConsuming(loaded);
        consumingStarted();
      });
    },
    async stop(graceMs) {
      loader.stop();
      clearInterval(lagTimer);
      for (const puller of pullers) puller.halt();
      const callsStopped = Promise.all([callsConsumer?.stop(), erasures?.stop(), erased?.stop()]);
      // Messages waiting for a slot go back to the queue at once; inferences running finish.
      slots.close();
      const settled = Promise.all([loading, callsStopped, ...pullers.map((puller) => puller.settled())]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        settled.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut)
        logger.warn(
          { graceMs },
          'work still running at the end of the grace period; JetStream will redeliver it',
        );
      else await models?.recognizer.release();
    },
  };
}
