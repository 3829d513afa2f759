import { Counter, Gauge, Registry } from 'prom-client';

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** Without a registry (tests), the metrics are kept in one of their own. */
export function createApiMetrics(registry: Registry = new Registry()) {
  const registers = [registry];
  return {
    authRefusals: new Counter({
      name: 'calltx_gateway_api_auth_refusals_total',
      help: 'API requests refused before reaching a route, by reason (missing, unknown-api-key, token-expired, …).',
      labelNames: ['reason'] as const,
      registers,
    }),
    liveStreams: new Gauge({
      name: 'calltx_gateway_api_live_streams',
      help: 'Server-Sent Events streams open.',
      labelNames: ['family'] as const,
      registers,
    }),
  };
}
