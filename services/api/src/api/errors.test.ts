import { describe, expect, it } from 'vitest';
import { CalltxError } from '@calltx/events';
import { ApiError, invalidRequest, unauthorized } from './errors.js';

describe('ApiError', () => {
  it('is a CalltxError, retryable exactly when its status asks the client to try again', () => {
    expect(new ApiError(503, 'unavailable', 'down')).toMatchObject({ retryable: true });
    expect(new ApiError(429, 'too_many_requests', 'slow down')).toMatchObject({ retryable: true });
    for (const error of [invalidRequest('bad'), unauthorized('who?'), new ApiError(500, 'internal', 'x')]) {
      expect(error).toBeInstanceOf(CalltxError);
      expect(error.retryable).toBe(false);
    }
  });

  it('keeps its cause', () => {
    const cause = new Error('socket closed');
    expect(new ApiError(503, 'unavailable', 'down', { cause }).cause).toBe(cause);
  });
});
