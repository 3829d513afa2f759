import { ConfigError, loadConfig, type Config } from '@calltx/config';

export const FETCHER_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_API_BASE_URL',
  'RECORDING_CHANNEL_SPEAKERS',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
  'NATS_STREAM_REPLICAS',
  'RECORDING_REDIRECT_HOSTS',
  'RECORDING_DELETE_AFTER_STORE',
  'RECORDING_MAX_BYTES',
  'RECORDING_DOWNLOAD_TIMEOUT_MS',
  'RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC',
  'RECORDING_FETCH_ATTEMPTS',
  'RECORDING_FETCH_BACKOFF_MS',
  'RECORDING_ACK_WAIT_MS',
  'RECORDING_CONCURRENCY',
  'RECORDING_RECONCILE_AFTER_MS',
  'RECORDING_RECONCILE_GIVE_UP_MS',
] as const;

export type FetcherConfig = Config<(typeof FETCHER_VARIABLES)[number]>;

/** Reads and validates every variable the service needs; all problems in one ConfigError. */
export function loadFetcherConfig(env: Record<string, string | undefined> = process.env): FetcherConfig {
  const config = loadConfig(FETCHER_VARIABLES, env);
  const speakers = config.RECORDING_CHANNEL_SPEAKERS;
  if (speakers['1'] === speakers['2'] || speakers['1'] === 'dual' || speakers['2'] === 'dual') {
    // Each channel becomes <speaker>.wav beside dual.wav: the names must not collide.
    throw new ConfigError([
      'RECORDING_CHANNEL_SPEAKERS must name two different speakers, neither of them "dual"',
    ]);
  }
  return config;
}
