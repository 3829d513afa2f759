import { hostname } from 'node:os';
import { CallClaims, claimsBucketName } from './claims/index.js';
import { Subjects } from '@calltx/events';
import { startJetStream, natsConnectionConfig } from '@calltx/nats';
import { createLogger, createMetricsRegistry, createShutdown, startupFailure } from '@calltx/runtime';
import { createObjectStore, objectStoreConfig } from '@calltx/storage';
import { createPool, runMigrations, databaseConnection } from '@calltx/db';
import { Segmenter, SileroVad } from '@calltx/speech';
import { createStreamIngest, timingFromConfig } from './app.js';
import { loadIngestConfig } from './config.js';
import { MIGRATIONS, MIGRATIONS_TABLE } from './db/migrations.js';

const SERVICE = 'stream-ingest';

async function main(): Promise<void> {
  const config = loadIngestConfig();
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const registry = createMetricsRegistry(SERVICE);
  const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);

  const pool = createPool(databaseConnection(config), {
    applicationName: SERVICE,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
  });
  await runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: MIGRATIONS });
  const store = createObjectStore(objectStoreConfig(config));
  await store.ensureBucket();

  const { nats, jsm, js } = await startJetStream({
    ...natsConnectionConfig(config),
    name: SERVICE,
    logger,
    subjects,
    families: ['calls', 'media', 'audio', 'parties', 'transcripts', 'deadletter', 'erasure'],
    replicas: config.NATS_STREAM_REPLICAS,
  });
  const claims = await CallClaims.open({
    nc: nats.nc,
    bucket: claimsBucketName(subjects, SERVICE),
    logger,
    owner: `${hostname()}:${process.pid}`,
    ttlMs: config.INGEST_CLAIM_TTL_MS,
    replicas: config.NATS_STREAM_REPLICAS,
  });

  const vad = await SileroVad.load();
  const ingest = createStreamIngest({
    js,
    jsm,
    subjects,
    store,
    pool,
    claims,
    logger,
    registry,
    createSegmenter: (streamId) => new Segmenter(vad, { streamId }),
    timing: timingFromConfig(config, nats.nc.info?.max_payload),
    sweepIntervalMs: config.INGEST_SWEEP_INTERVAL_MS,
    partRecoveryGiveUpMs: config.INGEST_PART_RECOVERY_GIVE_UP_MS,
    lifecycleMaxDeliver: config.DEADLETTER_MAX_DELIVER,
    isNatsConnected: nats.isConnected,
    streamReplicas: config.NATS_STREAM_REPLICAS,
    ...(config.AUDIO_REDACT ? { audioRedaction: { fill: config.AUDIO_REDACT_FILL } } : {}),
    ...(config.LIVE_FINALS_AUDIT_AFTER_MS > 0
      ? {
          liveFinalsAudit: {
            afterMs: config.LIVE_FINALS_AUDIT_AFTER_MS,
            giveUpMs: config.LIVE_FINALS_AUDIT_GIVE_UP_MS,
          },
        }
      : {}),
  });
  await ingest.start();
  const port = await ingest.http.listen(config.PORT);
  logger.info({ port }, 'stream-ingest listening');

  // Owned calls store what they hold and are released, so other replicas take them over at once.
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.add('lifecycle consumer', () => ingest.stopIntake());
  shutdown.add('owned calls', () => ingest.releaseCalls());
  shutdown.add('http', () => ingest.http.close());
  shutdown.add('nats', () => nats.nc.drain());
  shutdown.add('postgres', () => pool.end());
  shutdown.add('vad', () => vad.close());
  shutdown.installSignalHandlers();
}

main().catch((error: unknown) => startupFailure(SERVICE, error));
