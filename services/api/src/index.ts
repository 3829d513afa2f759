export { createApiService, type ApiService, type ApiServiceDeps } from './app.js';
export {
  API_VARIABLES,
  API_LOCAL_VARIABLES,
  REBUILD_VARIABLES,
  loadApiServiceConfig,
  type ApiServiceConfig,
} from './config.js';
export { hashPassword, hashApiKey, generateApiKey, SCOPES, type Scope } from './api/index.js';
export { mountConsoleAndApi } from './console/index.js';
export { API_MIGRATIONS, MIGRATIONS_TABLE } from './read-model/migrations.js';
