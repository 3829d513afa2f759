import express, { type Express, type RequestHandler } from 'express';
import { API_BASE_PATH, createApi, type Api, type ApiDeps } from '../api/index.js';
import { CONSOLE_PUBLIC_DIR, CONSOLE_VENDOR_DIR } from './assets.js';

export { CONSOLE_PUBLIC_DIR, CONSOLE_VENDOR_DIR, VOICE_SDK_ASSET } from './assets.js';
export const CONSOLE_PATH = '/console';

export type ConsoleAndApiDeps = ApiDeps;

export interface ConsoleAndApi {
  api: Api;
  /** Ends the API's open live streams: run before closing the HTTP server. */
  close(): Promise<void>;
}

/**
 * Mounts the read API at /api/v1 and the agent console at /console (`/` redirects there). Mount it before any
 * middleware that answers every path (the Twilio webhook router checks signatures on whatever reaches it).
 */
export function mountConsoleAndApi(app: Express, deps: ConsoleAndApiDeps): ConsoleAndApi {
  // req.ip (the audit trail's client IP) as the ingress saw it, from the proxies API_TRUST_PROXY names.
  app.set('trust proxy', deps.config.API_TRUST_PROXY);
  const api = createApi(deps);
  app.use(API_BASE_PATH, api.router);
  const headers = consoleSecurityHeaders(deps.objectStore);
  app.use(
    `${CONSOLE_PATH}/vendor`,
    headers,
    express.static(CONSOLE_VENDOR_DIR, { index: false, fallthrough: false }),
  );
  app.use(
    CONSOLE_PATH,
    headers,
    express.static(CONSOLE_PUBLIC_DIR, { index: 'index.html', maxAge: 0, fallthrough: false }),
  );
  app.get('/', (_req, res) => res.redirect(302, `${CONSOLE_PATH}/`));
  return { api, close: () => api.close() };
}

/**
 * A strict content security policy: scripts and styles from the gateway only; audio also from the object store
 * (presigned URLs) and Twilio's CDN (the SDK's ring tones); connections to the gateway and Twilio (Voice SDK).
 */
function consoleSecurityHeaders(objectStore: ApiDeps['objectStore']): RequestHandler {
  let policy: Promise<string> | undefined;
  const build = async () => {
    // A presigned URL is computed locally: its origin is where the browser will fetch audio from.
    const storageOrigin = new URL(await objectStore.presignedGetUrl('console-origin-probe', 60)).origin;
    return [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `media-src 'self' blob: ${storageOrigin} https://*.twiliocdn.com`,
      "connect-src 'self' https://*.twilio.com wss://*.twilio.com",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; ');
  };
  return async (_req, res, next) => {
    try {
      policy ??= build();
      res.set({
        'Content-Security-Policy': await policy,
        'Referrer-Policy': 'no-referrer',
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      });
      next();
    } catch (error) {
      policy = undefined;
      next(error);
    }
  };
}
