import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import twilio from 'twilio';

export const SIGNATURE_HEADER = 'x-twilio-signature';

/**
 * Twilio signs the URL it was given (PUBLIC_BASE_URL + path + query), not what the Host header says behind a
 * proxy or tunnel, so validation rebuilds that URL from configuration.
 */
export function publicUrl(publicBaseUrl: string, pathAndQuery: string): string {
  return `${publicBaseUrl}${pathAndQuery}`;
}

/** The media-stream URL as written into TwiML: same host, ws(s) scheme. */
export function publicWebSocketUrl(publicBaseUrl: string, pathAndQuery: string): string {
  return publicUrl(publicBaseUrl.replace(/^http/, 'ws'), pathAndQuery);
}

export type SignatureOutcome = 'valid' | 'missing' | 'invalid';

export function checkSignature(
  authToken: string,
  signature: string | string[] | undefined,
  url: string,
  params: Record<string, unknown>,
): SignatureOutcome {
  if (typeof signature !== 'string' || signature.length === 0) return 'missing';
  return twilio.validateRequest(authToken, signature, url, params) ? 'valid' : 'invalid';
}

/** Express middleware for Twilio webhooks (form-encoded): 403 unless the signature matches. */
export function requireTwilioSignature(options: {
  authToken: string;
  publicBaseUrl: string;
  onRejected: (outcome: Exclude<SignatureOutcome, 'valid'>, path: string) => void;
}): RequestHandler {
  return (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const outcome = checkSignature(
      options.authToken,
      req.header(SIGNATURE_HEADER),
      publicUrl(options.publicBaseUrl, req.originalUrl),
      body,
    );
    if (outcome === 'valid') {
      next();
      return;
    }
    options.onRejected(outcome, req.path);
    res
      .status(403)
      .type('text/plain')
      .send(outcome === 'missing' ? 'Missing X-Twilio-Signature' : 'Invalid X-Twilio-Signature');
  };
}

/** The WebSocket upgrade is a GET without parameters: Twilio signs the stream URL alone. */
export function checkUpgradeSignature(
  authToken: string,
  publicBaseUrl: string,
  req: IncomingMessage,
): SignatureOutcome {
  return checkSignature(
    authToken,
    req.headers[SIGNATURE_HEADER],
    publicWebSocketUrl(publicBaseUrl, req.url ?? '/'),
    {},
  );
}
