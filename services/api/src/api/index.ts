import { Router } from 'express';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { EventsClient } from '@calltx/events-client';
import type { Logger } from '@calltx/runtime';
import type { ObjectStore } from '@calltx/storage';
import type { Pool } from '@calltx/db';
import type { Subjects } from '@calltx/events';
import { auditRouter } from './audit/audit-routes.js';
import { AuditTrail } from './audit/audit-trail.js';
import { authenticate, type TokenSettings } from './auth/authenticate.js';
import { meRouter, sessionRouter } from './auth/session-routes.js';
import { CallsRepository } from './calls/calls-repository.js';
import { callsRouter } from './calls/calls-routes.js';
import type { ApiConfig } from './config.js';
import { apiErrorHandler, notFoundHandler } from './errors.js';
import { liveRouter } from './live/live-routes.js';
import { createApiMetrics } from './metrics.js';
import { voiceTokenRouter } from './voice/voice-token.js';
import type { ErasureCoordinator } from '../erasure/coordinator.js';
import { erasureRouter } from '../erasure/erasure-routes.js';

export { API_LOCAL_VARIABLES, loadApiConfig, type ApiConfig } from './config.js';
export { SCOPES, type Scope, hashApiKey, generateApiKey, hashPassword } from './auth/credentials.js';

/** Where the API lives; the OpenAPI document's server URL. */
export const API_BASE_PATH = '/api/v1';

export interface ApiDeps {
  config: ApiConfig;
  /** The read model (read only) and the audit trail (append only). */
  pool: Pool;
  /** Presigns recording and stream-audio URLs. */
  objectStore: ObjectStore;
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  /** TWILIO_ACCOUNT_SID: Voice SDK tokens are issued for this account. */
  twilioAccountSid: string;
  registry?: Registry;
  /** SSE keep-alive comment interval (tests shorten it). */
  heartbeatMs?: number;
  /** Erases calls (`DELETE /calls/{callSid}`); without it the route answers 404. */
  erasure?: ErasureCoordinator;
}

export interface Api {
  /** Mount at API_BASE_PATH. */
  router: Router;
  voiceEnabled: boolean;
  /** Ends open live streams (they would otherwise hold the HTTP server open at shutdown). */
  close(): Promise<void>;
}

export function createApi(deps: ApiDeps): Api {
  const { config, logger } = deps;
  const metrics = createApiMetrics(deps.registry);
  const tokens: TokenSettings | undefined = config.API_JWT_SECRET
    ? { secret: config.API_JWT_SECRET, issuer: config.API_JWT_ISSUER, audience: config.API_JWT_AUDIENCE }
    : undefined;
  const voice =
    config.TWILIO_API_KEY_SID && config.TWILIO_API_KEY_SECRET && config.TWILIO_TWIML_APP_SID
      ? {
          accountSid: deps.twilioAccountSid,
          apiKeySid: config.TWILIO_API_KEY_SID,
          apiKeySecret: config.TWILIO_API_KEY_SECRET,
          twimlAppSid: config.TWILIO_TWIML_APP_SID,
          ttlSeconds: config.VOICE_TOKEN_TTL_SECONDS,
        }
      : undefined;
  const trail = new AuditTrail(deps.pool);
  const live = liveRouter({
    trail,
    events: new EventsClient(deps.nc, { subjectPrefix: deps.subjects.prefix }),
    logger,
    metrics,
    maxStreams: config.API_MAX_LIVE_STREAMS,
    ...(deps.heartbeatMs === undefined ? {} : { heartbeatMs: deps.heartbeatMs }),
  });

  const router = Router();
  router.use((_req, res, next) => {
    // API answers hold personal data: never cached by browsers or proxies, never leaked through a Referer.
    res.set({
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    });
    next();
  });
  router.use(
    sessionRouter({ agents: config.CONSOLE_AGENTS, tokens, ttlSeconds: config.CONSOLE_SESSION_TTL_SECONDS }),
  );
  router.use(
    authenticate({
      apiKeys: config.API_KEYS,
      tokens,
      onRefused: (reason) => metrics.authRefusals.inc({ reason }),
    }),
  );
  router.use(meRouter(voice !== undefined));
  router.use(voiceTokenRouter(voice));
  // Before the calls routes: /calls/stream is not a CallSid.
  router.use(live.router);
  const calls = new CallsRepository(deps.pool, config.CALLER_NUMBER_HASH_KEY);
  if (deps.erasure) router.use(erasureRouter({ calls, coordinator: deps.erasure, trail, logger }));
  router.use(
    callsRouter({
      calls,
      objectStore: deps.objectStore,
      urlTtlSeconds: config.RECORDING_URL_TTL_SECONDS,
      trail,
    }),
  );
  router.use(auditRouter(trail));
  router.use(notFoundHandler);
  router.use(trail.onError);
  router.use(apiErrorHandler(logger));

  return { router, voiceEnabled: voice !== undefined, close: () => live.closeAll() };
}
