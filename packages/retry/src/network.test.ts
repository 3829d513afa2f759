import { describe, expect, it } from 'vitest';
import { errorCode, isTransientNetworkCode } from './network.js';

describe('network error classification', () => {
  it('reads the code of an error, or of the first member of an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(errorCode(refused)).toBe('ECONNREFUSED');
    expect(errorCode(new AggregateError([refused, new Error('v4')]))).toBe('ECONNREFUSED');
    expect(errorCode(new Error('no code'))).toBeUndefined();
    expect(errorCode('text')).toBeUndefined();
  });

  it('counts socket failures as transient, nothing else', () => {
    expect(isTransientNetworkCode('ECONNRESET')).toBe(true);
    expect(isTransientNetworkCode('UND_ERR_SOCKET')).toBe(true);
    expect(isTransientNetworkCode('ENOENT')).toBe(false);
    expect(isTransientNetworkCode(undefined)).toBe(false);
  });
});
