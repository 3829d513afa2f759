import { describe, expect, it } from 'vitest';
import { ConfigError } from '@calltx/config';
import { findApiKey, hashApiKey, hashPassword, verifyPassword } from './auth/credentials.js';
import { loadApiConfig } from './config.js';

/** Required: the gateway's key of the phone-number hash. */
const BASE = { CALLER_NUMBER_HASH_KEY: 'test-caller-number-hash-key-0123456789' };

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadApiConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadApiConfig', () => {
  it('refuses everything by default: no keys, no tokens, no agents, no calling', () => {
    const config = loadApiConfig(BASE);
    expect(config.API_KEYS).toEqual([]);
    expect(config.API_JWT_SECRET).toBeUndefined();
    expect(config.CONSOLE_AGENTS).toEqual([]);
    expect(config.TWILIO_TWIML_APP_SID).toBeUndefined();
    expect(config.RECORDING_URL_TTL_SECONDS).toBe(900);
  });

  it('reads API keys with their scopes and finds a key by its hash', () => {
    const config = loadApiConfig({
      ...BASE,
      API_KEYS: `reporting:${hashApiKey('key-one')}:calls:read transcripts:read, archive:${hashApiKey('key-two')}`,
    });
    expect(config.API_KEYS.map((k) => [k.name, k.scopes])).toEqual([
      ['reporting', ['calls:read', 'transcripts:read']],
      ['archive', ['calls:read', 'transcripts:read', 'recordings:read']],
    ]);
    expect(findApiKey(config.API_KEYS, 'key-two')?.name).toBe('archive');
    expect(findApiKey(config.API_KEYS, 'key-three')).toBeUndefined();
  });

  it('names each problem without echoing hashes or secrets', () => {
    const secret = 'short-secret';
    const problems = problemsOf({
      API_KEYS: `ok:${hashApiKey('a')},bad:not-a-hash,ok:${hashApiKey('b')},x:${hashApiKey('c')}:calls:write`,
      API_JWT_SECRET: secret,
      TWILIO_API_KEY_SID: 'SK123',
    });
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems.join('\n')).not.toContain(hashApiKey('a'));
    expect(problems).toEqual([
      expect.stringMatching(
        /^API_KEYS entry 2 needs a SHA-256 in hex.*key name "ok" appears twice.*entry 4 needs scopes/,
      ),
      'API_JWT_SECRET must be at least 32 characters',
      'TWILIO_API_KEY_SID must be SK followed by 32 hex digits',
    ]);
  });

  it('needs a token secret for console agents, and the three Twilio values together', async () => {
    const agents = `alice:${await hashPassword('pw')}`;
    expect(problemsOf({ CONSOLE_AGENTS: agents })).toEqual([
      'CONSOLE_AGENTS needs API_JWT_SECRET (console sessions are signed tokens)',
    ]);
    expect(problemsOf({ TWILIO_TWIML_APP_SID: `AP${'1'.repeat(32)}` })).toEqual([
      'TWILIO_API_KEY_SID, TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID go together (console calling)',
    ]);
    expect(
      problemsOf({ CONSOLE_AGENTS: 'alice:plaintext-password', API_JWT_SECRET: 'x'.repeat(32) }),
    ).toEqual(['CONSOLE_AGENTS entry 1 needs identity:scrypt-hash (made by `pnpm credentials agent`)']);
  });

  it('verifies scrypt password hashes, refusing other passwords and tampered hashes', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\.15\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct hors', hash)).toBe(false);
    const [scheme, logN, salt, key] = hash.split('.') as [string, string, string, string];
    const otherSalt = (salt.startsWith('A') ? 'B' : 'A') + salt.slice(1);
    expect(await verifyPassword('correct horse', [scheme, logN, otherSalt, key].join('.'))).toBe(false);
  });
});
