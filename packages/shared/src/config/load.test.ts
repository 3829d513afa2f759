import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './load.js';

describe('loadConfig', () => {
  it('parses, converts and applies defaults', () => {
    const config = loadConfig(
      ['PORT', 'NATS_URL', 'PUBLIC_BASE_URL', 'TRACK_SPEAKERS', 'TWILIO_API_BASE_URL'],
      {
        PORT: '9000',
        PUBLIC_BASE_URL: 'https://calls.example.com/',
        TRACK_SPEAKERS: 'inbound=technician,outbound=agent',
      },
    );
    expect(config).toEqual({
      PORT: 9000,
      NATS_URL: 'nats://127.0.0.1:4222',
      PUBLIC_BASE_URL: 'https://calls.example.com',
      TRACK_SPEAKERS: { inbound: 'technician', outbound: 'agent' },
      TWILIO_API_BASE_URL: 'https://api.twilio.com',
    });
  });

  it('names every missing or invalid variable in one error and never echoes secrets', () => {
    let error: unknown;
    try {
      loadConfig(
        ['PORT', 'S3_ENDPOINT', 'TWILIO_AUTH_TOKEN', 'TWILIO_ACCOUNT_SID', 'TRACK_SPEAKERS', 'DATABASE_URL'],
        {
          PORT: 'eighty',
          S3_ENDPOINT: 'minio:9000',
          TWILIO_AUTH_TOKEN: 'short-secret',
          TWILIO_ACCOUNT_SID: 'AC123',
          TRACK_SPEAKERS: 'inbound=agent',
        },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'PORT',
      'S3_ENDPOINT',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_ACCOUNT_SID',
      'TRACK_SPEAKERS',
      'DATABASE_URL',
    ]);
    expect(problems.at(-1)).toBe('DATABASE_URL is required');
    expect((error as Error).message).not.toContain('short-secret');
  });

  it('accepts a NATS cluster list and refuses other schemes', () => {
    expect(loadConfig(['NATS_URL'], { NATS_URL: 'nats://a:4222,nats://b:4222' }).NATS_URL).toBe(
      'nats://a:4222,nats://b:4222',
    );
    expect(() => loadConfig(['NATS_URL'], { NATS_URL: 'http://a:4222' })).toThrow(/NATS_URL/);
  });
});
