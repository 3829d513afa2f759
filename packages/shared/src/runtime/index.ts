export { createServiceHttp, type ServiceHttp, type ReadinessCheck } from './http.js';
export { createShutdown, type Shutdown } from './shutdown.js';
export { startupFailure } from './startup.js';
