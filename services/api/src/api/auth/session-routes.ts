import express, { Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { ApiError, invalidRequest } from '../errors.js';
import { issueToken, principalOf, type TokenSettings } from './authenticate.js';
import { AGENT_SCOPES, hashPassword, verifyPassword, type AgentEntry } from './credentials.js';

export interface SessionSettings {
  agents: readonly AgentEntry[];
  tokens: TokenSettings | undefined;
  ttlSeconds: number;
  /** Failed sign-ins allowed per identity in 15 minutes. */
  maxFailures?: number;
}

const SignIn = z.object({
  identity: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

// Checked when the identity is unknown, so a wrong identity costs as long as a wrong password.
let decoy: Promise<string> | undefined;
const decoyHash = () => (decoy ??= hashPassword('decoy password nobody has'));

/** `POST /session`: an agent signs in to the console and gets a bearer token with the agent scopes. */
export function sessionRouter(settings: SessionSettings): Router {
  const router = Router();
  const failures = rateLimit({
    windowMs: 15 * 60_000,
    limit: settings.maxFailures ?? 10,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Per identity, not per address: behind proxies the client address can be forged, an identity cannot.
    keyGenerator: (req) => (typeof req.body?.identity === 'string' ? req.body.identity.slice(0, 64) : ''),
    handler: (_req, _res, next) => {
      next(new ApiError(429, 'too_many_requests', 'too many failed sign-ins; wait a few minutes'));
    },
  });

  router.post('/session', express.json({ limit: '4kb' }), failures, async (req, res, next) => {
    try {
      if (!settings.tokens || settings.agents.length === 0) {
        throw new ApiError(503, 'not_configured', 'console sign-in is not configured on this gateway');
      }
      const body = SignIn.safeParse(req.body);
      if (!body.success) throw invalidRequest('send JSON { "identity": string, "password": string }');
      const agent = settings.agents.find((a) => a.identity === body.data.identity);
      const valid = await verifyPassword(body.data.password, agent?.passwordHash ?? (await decoyHash()));
      if (!agent || !valid) {
        throw new ApiError(401, 'unauthorized', 'identity or password is wrong', {
          headers: { 'WWW-Authenticate': 'Bearer realm="calltx"' },
        });
      }
      const { token, expiresAt } = issueToken(
        settings.tokens,
        agent.identity,
        AGENT_SCOPES,
        settings.ttlSeconds,
      );
      res.json({
        token,
        tokenType: 'Bearer',
        expiresAt: expiresAt.toISOString(),
        identity: agent.identity,
        scopes: AGENT_SCOPES,
      });
    } catch (error) {
      next(error);
    }
  });
  return router;
}

/** `GET /me`: who the credential belongs to and what it may do (the console shows or hides its dialer). */
export function meRouter(voiceEnabled: boolean): Router {
  const router = Router();
  router.get('/me', (_req, res) => {
    const principal = principalOf(res);
    res.json({
      subject: principal.subject,
      scopes: [...principal.scopes],
      voice: { enabled: voiceEnabled && principal.scopes.has('voice:call') },
    });
  });
  return router;
}
