import { loadConfig } from '@calltx/config';
import { describe, expect, it } from 'vitest';
import { NATS_VARIABLES } from './variables.js';

describe('NATS_VARIABLES', () => {
  it('accepts a NATS cluster list and refuses other schemes', () => {
    expect(loadConfig(NATS_VARIABLES, { NATS_URL: 'nats://a:4222,nats://b:4222' }).NATS_URL).toBe(
      'nats://a:4222,nats://b:4222',
    );
    expect(() => loadConfig(NATS_VARIABLES, { NATS_URL: 'http://a:4222' })).toThrow(/NATS_URL/);
  });

  it('keeps an empty subject prefix', () => {
    expect(loadConfig(NATS_VARIABLES, { NATS_SUBJECT_PREFIX: '' }).NATS_SUBJECT_PREFIX).toBe('');
  });
});
