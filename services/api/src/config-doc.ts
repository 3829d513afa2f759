import { SHARED_VARIABLES_TABLE, type ConfigurationTable } from '@calltx/shared';
import { API_LOCAL_VARIABLES } from './api/config.js';

/**
 * Every variable table of the system, in the order docs/configuration.md lists them. It lives here because the
 * api is the one service declaring variables of its own beside its code.
 */
export const CONFIGURATION_TABLES: readonly ConfigurationTable[] = [
  SHARED_VARIABLES_TABLE,
  { source: 'services/api/src/api/config.ts', variables: API_LOCAL_VARIABLES },
];
