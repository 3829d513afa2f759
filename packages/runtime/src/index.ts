export { RUNTIME_VARIABLES } from './variables.js';
export { createLogger, REDACTED_FIELDS, type Logger, type LoggerConfig } from './log.js';
export { createMetricsRegistry } from './metrics.js';
export {
  createServiceHttp,
  DEFAULT_REQUEST_TIMEOUTS,
  type ServiceHttp,
  type ReadinessCheck,
  type RequestTimeouts,
} from './http.js';
export { createShutdown, type Shutdown } from './shutdown.js';
export { startupFailure } from './startup.js';
