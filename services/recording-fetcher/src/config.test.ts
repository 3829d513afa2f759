import { describe, expect, it } from 'vitest';
import { ConfigError } from '@calltx/config';
import { loadFetcherConfig } from './config.js';

const REQUIRED = {
  DATABASE_URL: 'postgres://u@db:5432/calls',
  S3_ENDPOINT: 'http://minio:9000',
  S3_ACCESS_KEY: 'key',
  S3_SECRET_KEY: 'secret-value',
  S3_BUCKET: 'calls',
  TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'auth-token-0123456789',
};

describe('loadFetcherConfig', () => {
  it('applies the defaults: Twilio media hosts only, nothing deleted at Twilio', () => {
    expect(loadFetcherConfig(REQUIRED)).toMatchObject({
      TWILIO_API_BASE_URL: 'https://api.twilio.com',
      RECORDING_CHANNEL_SPEAKERS: { '1': 'agent', '2': 'technician' },
      RECORDING_REDIRECT_HOSTS: ['*.twilio.com', '*.twiliocdn.com'],
      RECORDING_DELETE_AFTER_STORE: false,
      RECORDING_MAX_BYTES: 512 * 1024 * 1024,
      RECORDING_FETCH_ATTEMPTS: 8,
    });
  });

  it('parses the recording variables', () => {
    const config = loadFetcherConfig({
      ...REQUIRED,
      RECORDING_REDIRECT_HOSTS: ' Media.Example.com , *.cdn.example.com',
      RECORDING_DELETE_AFTER_STORE: 'true',
      RECORDING_FETCH_ATTEMPTS: '3',
    });
    expect(config.RECORDING_REDIRECT_HOSTS).toEqual(['media.example.com', '*.cdn.example.com']);
    expect(config.RECORDING_DELETE_AFTER_STORE).toBe(true);
    expect(config.RECORDING_FETCH_ATTEMPTS).toBe(3);
  });

  it('reports shared and local problems together without echoing secrets', () => {
    let error: unknown;
    try {
      loadFetcherConfig({
        ...REQUIRED,
        S3_SECRET_KEY: '',
        RECORDING_REDIRECT_HOSTS: 'http://x.com',
        RECORDING_FETCH_ATTEMPTS: '0',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(' ')[0])).toEqual([
      'S3_SECRET_KEY',
      'RECORDING_REDIRECT_HOSTS',
      'RECORDING_FETCH_ATTEMPTS',
    ]);
  });
});

describe('RECORDING_CHANNEL_SPEAKERS', () => {
  it.each(['1=agent,2=agent', '1=dual,2=technician'])(
    'refuses %s: the object names would collide',
    (value) => {
      expect(() => loadFetcherConfig({ ...REQUIRED, RECORDING_CHANNEL_SPEAKERS: value })).toThrow(
        /RECORDING_CHANNEL_SPEAKERS must name two different speakers/,
      );
    },
  );
});
