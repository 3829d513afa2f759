import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { Segmenter, SileroVad } from '@calltx/speech';
import { CallClaims } from '../claims/index.js';
import { createLogger, createMetricsRegistry, type Logger } from '@calltx/runtime';
import { createStreamIngest, timingFromConfig, type StreamIngest } from '../app.js';
import type { CallTiming } from '../calls/owned-call.js';
import type { LiveFinalsAuditSettings } from '../db/live-finals-audits.js';
import type { AudioRedaction } from '../redaction/stream-redaction.js';
import { SERVICE, type TestEnvironment } from './environment.js';

import { LogCapture } from '@calltx/devstack';

export { LogCapture };

export interface InProcessIngest {
  ingest: StreamIngest;
  registry: Registry;
  claims: CallClaims;
  nc: NatsConnection;
  logs: LogCapture;
  logger: Logger;
  /** A counter's or gauge's value for these labels (0 when never touched). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Graceful stop: owned calls are stored and released. */
  stop(): Promise<void>;
}

let vad: Promise<SileroVad> | undefined;
/** One VAD session per test process: it is stateless, streams hold the state. */
export const sharedVad = () => (vad ??= SileroVad.load());

export interface InProcessOptions {
  timing?: Partial<CallTiming>;
  claimTtlMs?: number;
  sweepIntervalMs?: number;
  lifecycleMaxDeliver?: number;
  partRecoveryIntervalMs?: number;
  /** INGEST_PART_RECOVERY_GIVE_UP_MS (default 7 days). */
  partRecoveryGiveUpMs?: number;
  /** NATS_STREAM_REPLICAS of the environment's streams. */
  streamReplicas?: number;
  /** AUDIO_REDACT on, with this fill. */
  audioRedaction?: AudioRedaction;
  /** The live-finals audit on, with these settings. */
  liveFinalsAudit?: LiveFinalsAuditSettings;
}

/** The service's app (createStreamIngest) in this process, with its own NATS connection, on a test environment. */
export async function startInProcess(
  env: TestEnvironment,
  options: InProcessOptions = {},
): Promise<InProcessIngest> {
  const logs = new LogCapture();
  const logger = createLogger({ service: SERVICE, level: 'debug', destination: logs });
  const registry = createMetricsRegistry(SERVICE);
  const nc = await connect({ servers: env.natsUrl });
  const claims = await CallClaims.open({
    nc,
    bucket: env.claimsBucket,
    logger,
    ttlMs: options.claimTtlMs ?? 3_000,
    replicas: options.streamReplicas ?? 1,
  });
  const loadedVad = await sharedVad();
  const ingest = createStreamIngest({
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    subjects: env.subjects,
    store: env.store,
    pool: env.pool,
    claims,
    logger,
    registry,
    createSegmenter: (streamId) => new Segmenter(loadedVad, { streamId }),
    timing: {
      ...timingFromConfig(
        { INGEST_PART_FLUSH_MS: 200, STREAM_IDLE_FINALIZE_MS: 60_000 },
        nc.info?.max_payload,
      ),
      lingerMs: 1_000,
      ...options.timing,
    },
    sweepIntervalMs: options.sweepIntervalMs ?? 200,
    lifecycleMaxDeliver: options.lifecycleMaxDeliver ?? 50,
    partRecoveryIntervalMs: options.partRecoveryIntervalMs,
    partRecoveryGiveUpMs: options.partRecoveryGiveUpMs ?? 7 * 24 * 3_600_000,
    isNatsConnected: () => !nc.isClosed(),
    streamReplicas: options.streamReplicas ?? 1,
    ...(options.audioRedaction ? { audioRedaction: options.audioRedaction } : {}),
    ...(options.liveFinalsAudit ? { liveFinalsAudit: options.liveFinalsAudit } : {}),
  });
  await ingest.start();
  let stopping: Promise<void> | undefined;
  return {
    ingest,
    registry,
    claims,
    nc,
    logs,
    logger,
    async metric(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name}`);
      const { values } = await metric.get();
      const value = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
      return value?.value ?? 0;
    },
    stop: () =>
      (stopping ??= (async () => {
        await ingest.stopIntake();
        await ingest.releaseCalls();
        await nc.close();
      })()),
  };
}
