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

/**
 * Twilio's connection overrides (a URL fragment, never sent in the request): retry a callback up to 5 times
 * (the most Twilio allows) on a 5xx, a connection failure or a read timeout, within 15 s in all (the most
 * allowed). Per-attempt timeouts are short enough that retries fit in the total: connecting 3 s (default 5 s),
 * first byte 5 s (default 15 s, which would leave no time to retry). By default Twilio retries once, on connection
 * failures only, so a 503 from a gateway that can't reach JetStream would be final.
 */
export const CONNECTION_OVERRIDES = 'ct=3000&rt=5000&tt=15000&rc=5&rp=5xx,ct,rt';

/** A status-callback URL as written into TwiML: the public URL with the connection overrides. */
export function callbackUrl(publicBaseUrl: string, path: string): string {
  return `${publicUrl(publicBaseUrl, path)}#${CONNECTION_OVERRIDES}`;
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

/**
 * Express middleware for Twilio webhooks (form-encoded): 403 unless the signature matches. The request never
 * carries the URL's fragment and Twilio's docs don't say whether the connection overrides are part of the signed
 * URL, so a signature over the URL with our overrides is accepted as well as one over the URL without them.
 */
export function requireTwilioSignature(options: {
  authToken: string;
  publicBaseUrl: string;
  onRejected: (outcome: Exclude<SignatureOutcome, 'valid'>, path: string) => void;
}): RequestHandler {
  return (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const signature = req.header(SIGNATURE_HEADER);
    const url = publicUrl(options.publicBaseUrl, req.originalUrl);
    let outcome = checkSignature(options.authToken, signature, url, body);
    if (outcome === 'invalid') {
      outcome = checkSignature(options.authToken, signature, `${url}#${CONNECTION_OVERRIDES}`, body);
    }
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
