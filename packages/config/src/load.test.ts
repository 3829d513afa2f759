import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { loadConfig } from './load.js';
import { httpUrl, speakerMap, variable } from './variables.js';

const TABLE = {
  PORT: variable(z.coerce.number().int().min(0).max(65535).default(8080), 'HTTP port.'),
  LOG_LEVEL: variable(z.enum(['info', 'debug']).default('info'), 'Log level.'),
  PUBLIC_BASE_URL: variable(
    httpUrl.transform((url) => url.replace(/\/+$/, '')),
    'Public base URL.',
  ),
  API_BASE_URL: variable(httpUrl.default('https://api.example.com'), 'REST API base URL.'),
  TOKEN: variable(z.string().min(16, 'must be a token'), 'A token.', { secret: true }),
  SPEAKERS: variable(
    speakerMap(['inbound', 'outbound']).default({ inbound: 'agent', outbound: 'technician' }),
    'Track → speaker.',
  ),
  PREFIX: variable(z.string().default('none'), 'Kept when empty.', { keepEmpty: true }),
};

describe('loadConfig', () => {
  it('parses, converts and applies defaults', () => {
    const config = loadConfig(TABLE, {
      PORT: '9000',
      PUBLIC_BASE_URL: 'https://calls.example.com/',
      TOKEN: 'a-long-enough-token',
      SPEAKERS: 'inbound=technician,outbound=agent',
      LOG_LEVEL: '',
    });
    expect(config).toEqual({
      PORT: 9000,
      LOG_LEVEL: 'info',
      PUBLIC_BASE_URL: 'https://calls.example.com',
      API_BASE_URL: 'https://api.example.com',
      TOKEN: 'a-long-enough-token',
      SPEAKERS: { inbound: 'technician', outbound: 'agent' },
      PREFIX: 'none',
    });
  });

  it('keeps an empty value of a variable that keeps empty values', () => {
    expect(loadConfig({ PREFIX: TABLE.PREFIX }, { PREFIX: '' }).PREFIX).toBe('');
  });

  it('names every missing or invalid variable in one error and never echoes secrets', () => {
    let error: unknown;
    try {
      loadConfig(TABLE, {
        PORT: 'eighty',
        API_BASE_URL: 'api.example.com',
        TOKEN: 'short-secret',
        SPEAKERS: 'inbound=agent',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'PORT',
      'PUBLIC_BASE_URL',
      'API_BASE_URL',
      'TOKEN',
      'SPEAKERS',
    ]);
    expect(problems[1]).toBe('PUBLIC_BASE_URL is required');
    expect((error as Error).message).not.toContain('short-secret');
  });
});
