import { z } from 'zod';
import { ConfigError, type VariableSpec } from '@calltx/shared';
import { parseAgentEntries, parseApiKeyEntries } from './auth/credentials.js';

const spec = <S extends z.ZodType>(schema: S, description: string, secret = false): VariableSpec<S> => ({
  schema,
  description,
  secret,
});
const seconds = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const twilioSid = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`)
    .optional();

/**
 * Variables of the read API and the agent console, declared beside their code in the shape of @calltx/shared's
 * VARIABLES table (docs/configuration.md is rendered from both). Everything is optional: without credentials
 * configured, every request is refused.
 */
export const API_LOCAL_VARIABLES = {
  API_KEYS: spec(
    z.string().transform(parseApiKeyEntries).default([]),
    'API keys, comma-separated `name:sha256hex[:scope scope…]` entries: the SHA-256 (hex) of each key, never the key. ' +
      'Scopes: calls:read, transcripts:read, recordings:read, voice:call; all three read scopes when omitted. ' +
      'Generate with `pnpm credentials api-key <name>`.',
  ),
  API_JWT_SECRET: spec(
    z.string().min(32, 'must be at least 32 characters').optional(),
    'HS256 secret for API bearer tokens (JWT with `sub` and a space-separated `scope` claim): verifies tokens of ' +
      'other services and signs agent console sessions. Without it only API keys are accepted.',
    true,
  ),
  API_JWT_ISSUER: spec(
    z.string().min(1).default('calltx'),
    'Expected (and issued) `iss` of API bearer tokens.',
  ),
  API_JWT_AUDIENCE: spec(
    z.string().min(1).default('calltx-api'),
    'Expected (and issued) `aud` of API bearer tokens.',
  ),
  CONSOLE_AGENTS: spec(
    z.string().transform(parseAgentEntries).default([]),
    'Agents who may sign in to the console, comma-separated `identity:scrypt-hash` entries (identity: letters, ' +
      'digits, `_`, `.`, `-`). Generate an entry with `pnpm credentials agent <identity>`. Needs API_JWT_SECRET.',
  ),
  CONSOLE_SESSION_TTL_SECONDS: spec(
    seconds(60, 7 * 86_400, 8 * 3_600),
    'Lifetime of an agent console session (its bearer token).',
  ),
  TWILIO_API_KEY_SID: spec(twilioSid('SK'), 'Twilio API key SID (SK…) that signs Voice SDK access tokens.'),
  TWILIO_API_KEY_SECRET: spec(
    z.string().min(16, 'must be a Twilio API key secret').optional(),
    'Secret of TWILIO_API_KEY_SID.',
    true,
  ),
  TWILIO_TWIML_APP_SID: spec(
    twilioSid('AP'),
    "TwiML App (AP…) the console's calls go through; its Voice URL is the gateway's /twilio/voice.",
  ),
  VOICE_TOKEN_TTL_SECONDS: spec(
    seconds(60, 86_400, 3_600),
    'Lifetime of a Voice SDK access token issued to an agent.',
  ),
  RECORDING_URL_TTL_SECONDS: spec(
    seconds(10, 604_800, 900),
    'Lifetime of the presigned URLs of recordings and stream audio that the API hands out.',
  ),
  API_MAX_LIVE_STREAMS: spec(
    z.coerce.number().int().min(1).default(200),
    'Live event streams (Server-Sent Events) served at once; more are refused with 503.',
  ),
} as const satisfies Record<string, VariableSpec>;

export type ApiConfig = {
  readonly [K in keyof typeof API_LOCAL_VARIABLES]: z.output<(typeof API_LOCAL_VARIABLES)[K]['schema']>;
};

/** Reads and checks the API's variables; every problem in one ConfigError, secret values never echoed. */
export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(API_LOCAL_VARIABLES) as Array<[string, VariableSpec]>) {
    const raw = env[name];
    const result = variable.schema.safeParse(raw === '' ? undefined : raw);
    if (result.success) config[name] = result.data;
    else problems.push(`${name} ${result.error.issues.map((i) => i.message).join(', ')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const loaded = config as ApiConfig;
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
