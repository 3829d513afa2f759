export {
  createServiceHttp,
  DEFAULT_REQUEST_TIMEOUTS,
  type ServiceHttp,
  type ReadinessCheck,
  type RequestTimeouts,
} from './http.js';
export { createShutdown, type Shutdown } from './shutdown.js';
export { startupFailure } from './startup.js';
