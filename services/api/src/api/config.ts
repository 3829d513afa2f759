import { isIP } from 'node:net';
import { z } from 'zod';
import {
  CALLER_NUMBER_VARIABLES,
  ConfigError,
  loadConfig,
  variable,
  type Config,
  type VariableSpec,
} from '@calltx/config';
import { twilioSid } from '@calltx/twilio-account';
import { ERASURE_VARIABLES } from '../erasure/variables.js';
import { parseAgentEntries, parseApiKeyEntries } from './auth/credentials.js';

const seconds = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const optionalSid = (prefix: string) => twilioSid(prefix).optional();

/**
 * Variables of the read API and the agent console, declared beside their code. Everything is optional: without
 * credentials configured, every request is refused.
 */
export const API_LOCAL_VARIABLES = {
  API_KEYS: variable(
    z.string().transform(parseApiKeyEntries).default([]),
    'API keys, comma-separated `name:sha256hex[:scope scope…]` entries: the SHA-256 (hex) of each key, never the key. ' +
      'Scopes: calls:read, transcripts:read, recordings:read, voice:call, audit:read, calls:delete; the three call ' +
      'read scopes when omitted (audit:read, which reads the audit trail, and calls:delete, which erases a call, ' +
      'only when named). ' +
      'Generate with `pnpm credentials api-key <name>`.',
  ),
  API_JWT_SECRET: variable(
    z.string().min(32, 'must be at least 32 characters').optional(),
    'HS256 secret for API bearer tokens (JWT with `sub` and a space-separated `scope` claim): verifies tokens of ' +
      'other services and signs agent console sessions. Without it only API keys are accepted.',
    { secret: true },
  ),
  API_JWT_ISSUER: variable(
    z.string().min(1).default('calltx'),
    'Expected (and issued) `iss` of API bearer tokens.',
  ),
  API_JWT_AUDIENCE: variable(
    z.string().min(1).default('calltx-api'),
    'Expected (and issued) `aud` of API bearer tokens.',
  ),
  CONSOLE_AGENTS: variable(
    z.string().transform(parseAgentEntries).default([]),
    'Agents who may sign in to the console, comma-separated `identity:scrypt-hash` entries (identity: letters, ' +
      'digits, `_`, `.`, `-`). Generate an entry with `pnpm credentials agent <identity>`. Needs API_JWT_SECRET.',
  ),
  CONSOLE_SESSION_TTL_SECONDS: variable(
    seconds(60, 7 * 86_400, 8 * 3_600),
    'Lifetime of an agent console session (its bearer token).',
  ),
  // The gateway's key: the calls filter finds a whole number through its hash.
  ...CALLER_NUMBER_VARIABLES,
  TWILIO_API_KEY_SID: variable(
    optionalSid('SK'),
    'Twilio API key SID (SK…) that signs Voice SDK access tokens.',
  ),
  TWILIO_API_KEY_SECRET: variable(
    z.string().min(16, 'must be a Twilio API key secret').optional(),
    'Secret of TWILIO_API_KEY_SID.',
    { secret: true },
  ),
  TWILIO_TWIML_APP_SID: variable(
    optionalSid('AP'),
    "TwiML App (AP…) the console's calls go through; its Voice URL is the gateway's /twilio/voice.",
  ),
  VOICE_TOKEN_TTL_SECONDS: variable(
    seconds(60, 86_400, 3_600),
    'Lifetime of a Voice SDK access token issued to an agent.',
  ),
  RECORDING_URL_TTL_SECONDS: variable(
    seconds(10, 604_800, 900),
    'Lifetime of the presigned URLs of recordings and stream audio that the API hands out.',
  ),
  API_TRUST_PROXY: variable(
    z
      .string()
      .trim()
      .default('loopback')
      .refine(
        (value) => /^(true|false|\d{1,2})?$/.test(value) || value.split(',').every(isProxyAddress),
        'must be false, true, a number of hops, or comma-separated IPs/CIDRs or loopback/linklocal/uniquelocal',
      )
      .transform(trustProxyOf),
    "Which proxies' X-Forwarded-For the API believes, for the client IP it records in the audit trail " +
      '(Express `trust proxy`): `false` (none: the peer address is the client), a number of proxy hops in front ' +
      '(`1` behind one Kubernetes Ingress controller), or comma-separated addresses/CIDRs of the proxies ' +
      "(e.g. the ingress pods' network) or `loopback`, `linklocal`, `uniquelocal`. Never `true` unless every " +
      'path to the API goes through a proxy that overwrites the header.',
  ),
  API_MAX_LIVE_STREAMS: variable(
    z.coerce.number().int().min(1).default(200),
    'Live event streams (Server-Sent Events) served at once; more are refused with 503.',
  ),
  ...ERASURE_VARIABLES,
} as const satisfies Record<string, VariableSpec>;

const isProxyAddress = (entry: string): boolean => {
  const [address = '', bits, ...rest] = entry.trim().split('/');
  return (
    ['loopback', 'linklocal', 'uniquelocal'].includes(address) ||
    (isIP(address) !== 0 && rest.length === 0 && (bits === undefined || /^\d{1,3}$/.test(bits)))
  );
};

/** Express's `trust proxy` setting from API_TRUST_PROXY. */
function trustProxyOf(value: string): boolean | number | string {
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  return value;
}

export type ApiConfig = Config<typeof API_LOCAL_VARIABLES>;

/** Reads and checks the API's variables; every problem in one ConfigError, secret values never echoed. */
export const loadApiConfig = (env: Record<string, string | undefined> = process.env): ApiConfig =>
  checkApiConfig(loadConfig(API_LOCAL_VARIABLES, env));

/** What no single variable can check: the settings that only work together. */
export function checkApiConfig<C extends ApiConfig>(loaded: C): C {
  const problems: string[] = [];
  if (loaded.CONSOLE_AGENTS.length > 0 && !loaded.API_JWT_SECRET) {
    problems.push('CONSOLE_AGENTS needs API_JWT_SECRET (console sessions are signed tokens)');
  }
  const voice = [loaded.TWILIO_API_KEY_SID, loaded.TWILIO_API_KEY_SECRET, loaded.TWILIO_TWIML_APP_SID];
  if (voice.some((v) => v !== undefined) && voice.some((v) => v === undefined)) {
    problems.push(
      'TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID go together (console calling)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded;
}
