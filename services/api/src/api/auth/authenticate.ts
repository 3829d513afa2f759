import type { RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import { ApiError, unauthorized } from '../errors.js';
import { findApiKey, isScope, type ApiKeyEntry, type Scope } from './credentials.js';

export interface Principal {
  /** API key name or token subject (an agent's identity for console sessions). */
  subject: string;
  via: 'api-key' | 'bearer-token';
  scopes: ReadonlySet<Scope>;
}

export interface TokenSettings {
  secret: string;
  issuer: string;
  audience: string;
}

export interface AuthSettings {
  apiKeys: readonly ApiKeyEntry[];
  /** Absent: bearer tokens are refused. */
  tokens: TokenSettings | undefined;
  /** Told why a request was refused (for metrics); never the credential. */
  onRefused?: (reason: string) => void;
}

export const API_KEY_HEADER = 'x-api-key';

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route mounted without authenticate()');
  return principal;
}

/**
 * Accepts `X-API-Key: <key>` or `Authorization: Bearer <JWT>` (HS256, with `sub` and a space-separated `scope`
 * claim), and refuses everything else with 401 and a message that says what was wrong.
 */
export function authenticate(settings: AuthSettings): RequestHandler {
  return (req, res, next) => {
    const refuse = (reason: string, error: ApiError) => {
      settings.onRefused?.(reason);
      next(error);
    };
    const apiKey = req.header(API_KEY_HEADER);
    const authorization = req.header('authorization');
    if (apiKey !== undefined && authorization !== undefined) {
      return refuse('ambiguous', unauthorized('send either X-API-Key or Authorization, not both'));
    }
    if (apiKey !== undefined) {
      const entry = findApiKey(settings.apiKeys, apiKey.trim());
      if (!entry) return refuse('unknown-api-key', unauthorized('the API key is not valid'));
      res.locals.principal = {
        subject: entry.name,
        via: 'api-key',
        scopes: new Set(entry.scopes),
      } satisfies Principal;
      return next();
    }
    if (authorization === undefined) {
      return refuse(
        'missing',
        unauthorized('authentication required: send X-API-Key: <key> or Authorization: Bearer <token>'),
      );
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) return refuse('malformed', unauthorized('the Authorization header must be "Bearer <token>"'));
    if (!settings.tokens) {
      return refuse(
        'tokens-disabled',
        unauthorized('bearer tokens are not accepted here; use an API key', 'invalid_token'),
      );
    }
    try {
      res.locals.principal = verifyToken(settings.tokens, match[1]!) satisfies Principal;
    } catch (error) {
      const expired = error instanceof jwt.TokenExpiredError;
      return refuse(
        expired ? 'token-expired' : 'token-invalid',
        unauthorized(expired ? 'the token has expired' : 'the token is not valid', 'invalid_token'),
      );
    }
    next();
  };
}

function verifyToken(settings: TokenSettings, token: string): Principal {
  const claims = jwt.verify(token, settings.secret, {
    algorithms: ['HS256'],
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: 5,
  });
  if (typeof claims === 'string' || typeof claims.sub !== 'string' || claims.sub === '') {
    throw new jwt.JsonWebTokenError('token has no subject');
  }
  const granted = typeof claims.scope === 'string' ? claims.scope.split(/\s+/) : [];
  return { subject: claims.sub, via: 'bearer-token', scopes: new Set(granted.filter(isScope)) };
}

/** Signs a bearer token the API accepts (console sessions). */
export function issueToken(
  settings: TokenSettings,
  subject: string,
  scopes: readonly Scope[],
  ttlSeconds: number,
): { token: string; expiresAt: Date } {
  const token = jwt.sign({ scope: scopes.join(' ') }, settings.secret, {
    algorithm: 'HS256',
    subject,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: ttlSeconds,
  });
  const { exp } = jwt.decode(token) as { exp: number };
  return { token, expiresAt: new Date(exp * 1000) };
}

/** 403 unless the authenticated principal holds every scope. */
export function requireScopes(...needed: Scope[]): RequestHandler {
  return (_req, res, next) => {
    const principal = principalOf(res);
    const missing = needed.filter((scope) => !principal.scopes.has(scope));
    if (missing.length === 0) return next();
    next(
      new ApiError(
        403,
        'forbidden',
        `this credential lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      ),
    );
  };
}
