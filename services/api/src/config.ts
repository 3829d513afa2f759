import { ConfigError, loadConfig, type Config } from '@calltx/shared';
import { loadApiConfig, type ApiConfig } from './api/config.js';

export { API_LOCAL_VARIABLES } from './api/config.js';

/** What the api service reads from @calltx/shared's table; its own variables are API_LOCAL_VARIABLES. */
export const API_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'NATS_STREAM_REPLICAS',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'TWILIO_ACCOUNT_SID',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
  'DEADLETTER_MAX_DELIVER',
] as const;

export type ApiServiceConfig = Config<(typeof API_VARIABLES)[number]> & { api: ApiConfig };

/** Both tables at once: one ConfigError names every problem of either. */
export function loadApiServiceConfig(
  env: Record<string, string | undefined> = process.env,
): ApiServiceConfig {
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const shared = attempt(() => loadConfig(API_VARIABLES, env));
  const api = attempt(() => loadApiConfig(env));
  if (!shared || !api) throw new ConfigError(problems);
  return { ...shared, api };
}

/** What `pnpm api:rebuild` (dist/rebuild.js) reads. */
export const REBUILD_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'DATABASE_URL',
  'LOG_LEVEL',
  'LOG_FORMAT',
] as const;
