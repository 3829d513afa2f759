import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { z } from 'zod';

export const SCOPES = [
  'calls:read',
  'transcripts:read',
  'recordings:read',
  'voice:call',
  'audit:read',
  'calls:delete',
] as const;
export type Scope = (typeof SCOPES)[number];
/** What an API key may do when its entry names no scopes (audit:read and calls:delete only when named). */
export const READ_SCOPES: readonly Scope[] = ['calls:read', 'transcripts:read', 'recordings:read'];
/** What a signed-in console agent may do. */
export const AGENT_SCOPES: readonly Scope[] = [...READ_SCOPES, 'voice:call'];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

export interface ApiKeyEntry {
  name: string;
  /** SHA-256 of the key: keys are random and long, so a fast hash is enough and the config holds no secret. */
  sha256: Buffer;
  scopes: readonly Scope[];
}

export interface AgentEntry {
  identity: string;
  passwordHash: string;
}

type Ctx = z.core.$RefinementCtx<string>;

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function entries(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** `name:sha256hex[:scope scope…]`, comma-separated. Issues name the entry by position, never echo a hash. */
export function parseApiKeyEntries(value: string, ctx: Ctx): ApiKeyEntry[] {
  const parsed: ApiKeyEntry[] = [];
  for (const [index, entry] of entries(value).entries()) {
    const [name = '', hash = '', ...rest] = entry.split(':');
    const scopes = rest.join(':').split(/\s+/).filter(Boolean);
    const problem = !NAME.test(name)
      ? 'a name of letters, digits, _, . or -'
      : !SHA256_HEX.test(hash.toLowerCase())
        ? 'a SHA-256 in hex (64 digits)'
        : scopes.find((scope) => !isScope(scope)) !== undefined
          ? `scopes among ${SCOPES.join(', ')}`
          : undefined;
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${index + 1} needs ${problem} (name:sha256hex[:scopes])`,
      });
      continue;
    }
    if (parsed.some((known) => known.name === name)) {
      ctx.addIssue({ code: 'custom', message: `key name "${name}" appears twice` });
      continue;
    }
    parsed.push({
      name,
      sha256: Buffer.from(hash.toLowerCase(), 'hex'),
      scopes: scopes.length > 0 ? (scopes as Scope[]) : READ_SCOPES,
    });
  }
  return parsed;
}

/** `identity:scrypt-hash`, comma-separated. */
export function parseAgentEntries(value: string, ctx: Ctx): AgentEntry[] {
  const parsed: AgentEntry[] = [];
  for (const [index, entry] of entries(value).entries()) {
    const separator = entry.indexOf(':');
    const identity = entry.slice(0, separator);
    const passwordHash = entry.slice(separator + 1);
    if (separator < 0 || !NAME.test(identity) || parseScryptHash(passwordHash) === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${index + 1} needs identity:scrypt-hash (made by \`pnpm credentials agent\`)`,
      });
      continue;
    }
    parsed.push({ identity, passwordHash });
  }
  return parsed;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random API key (256 bits); only its hash goes into the configuration. */
export function generateApiKey(): string {
  return `ctx_${randomBytes(32).toString('base64url')}`;
}

/** The entry whose hash matches, comparing every entry in constant time. */
export function findApiKey(keys: readonly ApiKeyEntry[], presented: string): ApiKeyEntry | undefined {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const key of keys) if (timingSafeEqual(key.sha256, digest)) found ??= key;
  return found;
}

// scrypt with N = 2^15, r = 8, p = 1: about 32 MiB and some 50 ms per check on one core.
const LOG_N = 15;
const KEY_LENGTH = 32;
const scryptOptions = (logN: number): ScryptOptions => ({
  N: 2 ** logN,
  r: 8,
  p: 1,
  maxmem: 2 ** logN * 8 * 128 * 2,
});

function derive(password: string, salt: Buffer, logN: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, scryptOptions(logN), (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

function parseScryptHash(hash: string): { logN: number; salt: Buffer; key: Buffer } | undefined {
  const match = /^scrypt\.(\d{2})\.([A-Za-z0-9_-]{16,})\.([A-Za-z0-9_-]{43})$/.exec(hash);
  if (!match) return undefined;
  const logN = Number(match[1]);
  if (logN < 14 || logN > 20) return undefined;
  return { logN, salt: Buffer.from(match[2]!, 'base64url'), key: Buffer.from(match[3]!, 'base64url') };
}

/** `scrypt.<log2 N>.<salt>.<key>`, base64url: the form CONSOLE_AGENTS holds. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, LOG_N);
  return `scrypt.${LOG_N}.${salt.toString('base64url')}.${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, passwordHash: string): Promise<boolean> {
  const parsed = parseScryptHash(passwordHash);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.logN);
  return timingSafeEqual(key, parsed.key);
}
