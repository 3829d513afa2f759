import { describe, expect, it } from 'vitest';
import { ConfigError } from '@calltx/config';
import { loadTranscriberConfig } from './config.js';

const env = {
  NATS_URL: 'nats://127.0.0.1:4222',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY: 'key',
  S3_SECRET_KEY: 'secret',
  S3_BUCKET: 'calltx',
  WHISPER_MODEL_DIR: '/models/whisper',
};

describe('TRANSCRIPT_REDACT', () => {
  it('defaults to card, phone and email; empty turns redaction off', () => {
    expect(loadTranscriberConfig(env).TRANSCRIPT_REDACT).toEqual(['card', 'phone', 'email']);
    expect(loadTranscriberConfig({ ...env, TRANSCRIPT_REDACT: '' }).TRANSCRIPT_REDACT).toEqual([]);
    expect(loadTranscriberConfig({ ...env, TRANSCRIPT_REDACT: 'iban, SSN' }).TRANSCRIPT_REDACT).toEqual([
      'iban',
      'ssn',
    ]);
  });

  it('refuses a kind it does not know', () => {
    expect(() => loadTranscriberConfig({ ...env, TRANSCRIPT_REDACT: 'card,passport' })).toThrow(ConfigError);
  });
});
