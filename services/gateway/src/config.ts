import { loadConfig, type Config } from '@calltx/shared';

export const GATEWAY_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'NATS_STREAM_REPLICAS',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_CALLER_ID',
  'PUBLIC_BASE_URL',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'TRACK_SPEAKERS',
  'MEDIA_FLUSH_MS',
  'MEDIA_BUFFER_MAX_FRAMES',
  'MEDIA_START_TIMEOUT_MS',
  'MEDIA_MAX_SOCKETS',
  'SHUTDOWN_GRACE_MS',
] as const;

export type GatewayConfig = Config<(typeof GATEWAY_VARIABLES)[number]>;

export const loadGatewayConfig = (env: Record<string, string | undefined> = process.env): GatewayConfig =>
  loadConfig(GATEWAY_VARIABLES, env);
