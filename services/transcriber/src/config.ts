import { availableParallelism } from 'node:os';
import { loadConfig, type Config } from '@calltx/config';

export const TRANSCRIBER_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'NATS_STREAM_REPLICAS',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'WHISPER_MODEL_DIR',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
  'DEADLETTER_MAX_DELIVER',
  'TRANSCRIBER_CONCURRENCY',
  'TRANSCRIBER_THREADS',
  'WHISPER_QUANTIZED',
  'WHISPER_LANGUAGE',
  'PARTIAL_MAX_AGE_MS',
  'TRANSCRIBER_ACK_WAIT_MS',
  'WHISPER_MODEL_RETRY_MS',
  'TRANSCRIBER_LAG_POLL_MS',
] as const;

export type TranscriberConfig = Config<(typeof TRANSCRIBER_VARIABLES)[number]>;

/** Reads and validates every variable the service needs; all problems in one ConfigError. */
export function loadTranscriberConfig(
  env: Record<string, string | undefined> = process.env,
): TranscriberConfig {
  return loadConfig(TRANSCRIBER_VARIABLES, env);
}

/** Threads per inference: as configured, or the machine's CPUs shared between the concurrent inferences. */
export function threadsPerInference(
  config: Pick<TranscriberConfig, 'TRANSCRIBER_THREADS' | 'TRANSCRIBER_CONCURRENCY'>,
): number {
  if (config.TRANSCRIBER_THREADS > 0) return config.TRANSCRIBER_THREADS;
  return Math.max(1, Math.floor(availableParallelism() / config.TRANSCRIBER_CONCURRENCY));
}
