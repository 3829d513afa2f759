import { Router } from 'express';
import twilio from 'twilio';
import { principalOf, requireScopes } from '../auth/authenticate.js';
import { ApiError } from '../errors.js';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;

export interface VoiceSettings {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  twimlAppSid: string;
  ttlSeconds: number;
}

/** Twilio limits a client identity to 121 characters of this set. */
const IDENTITY = /^[A-Za-z0-9_.-]{1,121}$/;

/**
 * `POST /voice/token`: a Voice SDK access token for the signed-in agent, allowed to place calls through the TwiML
 * App (whose Voice URL is the gateway's /twilio/voice) and nothing else: no incoming calls.
 */
export function voiceTokenRouter(settings: VoiceSettings | undefined): Router {
  const router = Router();
  router.post('/voice/token', requireScopes('voice:call'), (_req, res, next) => {
    if (!settings) {
      next(new ApiError(503, 'not_configured', 'calling from the console is not configured on this gateway'));
      return;
    }
    const identity = principalOf(res).subject;
    if (!IDENTITY.test(identity)) {
      next(new ApiError(403, 'forbidden', 'this identity cannot be used as a Twilio client identity'));
      return;
    }
    const token = new AccessToken(settings.accountSid, settings.apiKeySid, settings.apiKeySecret, {
      identity,
      ttl: settings.ttlSeconds,
    });
    token.addGrant(new VoiceGrant({ outgoingApplicationSid: settings.twimlAppSid, incomingAllow: false }));
    res.set('Cache-Control', 'no-store').json({
      token: token.toJwt(),
      identity,
      expiresAt: new Date(Date.now() + settings.ttlSeconds * 1000).toISOString(),
    });
  });
  return router;
}
