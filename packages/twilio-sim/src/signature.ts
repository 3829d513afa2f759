import twilio from 'twilio';

/**
 * The `X-Twilio-Signature` Twilio would send: HMAC-SHA1 (keyed by the auth token) over the full URL
 * followed by the POST params sorted by name, base64. Pass `{}` for GET requests and WebSocket upgrades.
 */
export function signTwilioRequest(
  authToken: string,
  url: string,
  params: Record<string, string> = {},
): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}
