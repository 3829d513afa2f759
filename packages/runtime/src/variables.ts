import { z } from 'zod';
import { variable } from '@calltx/config';

/** What the service runtime reads: the HTTP port, logging and the shutdown budget. */
export const RUNTIME_VARIABLES = {
  PORT: variable(
    z.coerce.number().int().min(0).max(65535).default(8080),
    'HTTP port (health, readiness, metrics; webhooks on the gateway).',
  ),
  LOG_LEVEL: variable(
    z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    'Log level.',
  ),
  LOG_FORMAT: variable(
    z.enum(['json', 'pretty']).default('json'),
    'json for production, pretty for a terminal.',
  ),
  SHUTDOWN_GRACE_MS: variable(
    z.coerce.number().int().min(0).default(20_000),
    'Time to finish in-flight work on SIGTERM before forcing exit.',
  ),
} as const;
