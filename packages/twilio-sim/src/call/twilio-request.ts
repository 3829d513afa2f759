import { signTwilioRequest } from '../signature.js';
import type { CallbackMethod } from '../twiml/parse-twiml.js';

/** Twilio's documented webhook timeout; a callback still waiting after this is a failed delivery. */
const WEBHOOK_TIMEOUT_MS = 15_000;

export interface TwilioRequest {
  /** The URL as Twilio knows it; the signature covers this exact string. */
  publicUrl: string;
  /** Where to send it (same path, possibly another host). */
  connectUrl: string;
  method: CallbackMethod;
  params: Record<string, string>;
  authToken: string;
  signal?: AbortSignal;
}

/**
 * Sends a request the way Twilio sends webhooks: POST params form-encoded in the body, GET params appended
 * to the query string, and `X-Twilio-Signature` computed over the full URL (plus sorted POST params).
 */
export async function sendTwilioRequest(request: TwilioRequest): Promise<Response> {
  const timeout = AbortSignal.timeout(WEBHOOK_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const headers: Record<string, string> = { 'User-Agent': 'TwilioProxy/1.1' };
  if (request.method === 'GET') {
    const publicUrl = withQuery(request.publicUrl, request.params);
    headers['X-Twilio-Signature'] = signTwilioRequest(request.authToken, publicUrl, {});
    return fetch(withQuery(request.connectUrl, request.params), { method: 'GET', headers, signal });
  }
  headers['X-Twilio-Signature'] = signTwilioRequest(request.authToken, request.publicUrl, request.params);
  headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return fetch(request.connectUrl, {
    method: 'POST',
    headers,
    body: new URLSearchParams(request.params).toString(),
    signal,
  });
}

function withQuery(url: string, params: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(params)) parsed.searchParams.append(key, value);
  return parsed.toString();
}
