import { loadConfig, pickVariables, type Config } from '@calltx/config';
import { DATABASE_VARIABLES } from '@calltx/db';
import { DEAD_LETTER_VARIABLES, NATS_CONNECTION_VARIABLE_NAMES, NATS_VARIABLES } from '@calltx/nats';
import { RUNTIME_VARIABLES } from '@calltx/runtime';
import { STORAGE_VARIABLES } from '@calltx/storage';
import { TWILIO_ACCOUNT_VARIABLES } from '@calltx/twilio-account';
import { API_LOCAL_VARIABLES, checkApiConfig, type ApiConfig } from './api/config.js';

export { API_LOCAL_VARIABLES } from './api/config.js';

/** Everything the api service reads: its packages' variables and the read API's and console's own. */
export const API_VARIABLES = {
  ...NATS_VARIABLES,
  ...DATABASE_VARIABLES,
  ...STORAGE_VARIABLES,
  ...pickVariables(TWILIO_ACCOUNT_VARIABLES, ['TWILIO_ACCOUNT_SID']),
  ...RUNTIME_VARIABLES,
  ...DEAD_LETTER_VARIABLES,
  ...API_LOCAL_VARIABLES,
};

export type ApiServiceConfig = Config<typeof API_VARIABLES> & { api: ApiConfig };

/** One ConfigError names every problem of the whole table. */
export function loadApiServiceConfig(
  env: Record<string, string | undefined> = process.env,
): ApiServiceConfig {
  const config = checkApiConfig(loadConfig(API_VARIABLES, env));
  return { ...config, api: config };
}

/** What `pnpm api:rebuild` (dist/rebuild.js) reads. */
export const REBUILD_VARIABLES = {
  ...pickVariables(NATS_VARIABLES, [...NATS_CONNECTION_VARIABLE_NAMES, 'NATS_SUBJECT_PREFIX']),
  ...DATABASE_VARIABLES,
  ...pickVariables(RUNTIME_VARIABLES, ['LOG_LEVEL', 'LOG_FORMAT']),
};
