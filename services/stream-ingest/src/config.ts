import { ConfigError, loadConfig, type Config } from '@calltx/config';

export const INGEST_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'NATS_STREAM_REPLICAS',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
  'DEADLETTER_MAX_DELIVER',
  'STREAM_IDLE_FINALIZE_MS',
  'INGEST_CLAIM_TTL_MS',
  'INGEST_PART_FLUSH_MS',
  'INGEST_SWEEP_INTERVAL_MS',
] as const;

export type IngestConfig = Config<(typeof INGEST_VARIABLES)[number]>;

export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  const config = loadConfig(INGEST_VARIABLES, env);
  // Idle finalization must not overtake frames still waiting to be spooled.
  if (config.INGEST_PART_FLUSH_MS * 4 > config.STREAM_IDLE_FINALIZE_MS) {
    throw new ConfigError(['STREAM_IDLE_FINALIZE_MS must be at least 4 × INGEST_PART_FLUSH_MS']);
  }
  return config;
}
