import { describe, expect, it } from 'vitest';
import { backoffDelayMs, isRetryable, retry, type RetryPolicy } from './retry.js';

const curve: RetryPolicy = { attempts: 5, baseMs: 500, capMs: 30_000, jitter: 0 };
const instant: RetryPolicy = { ...curve, baseMs: 0, capMs: 0 };

class Failure extends Error {
  constructor(readonly retryable: boolean) {
    super(retryable ? 'try again' : 'final');
  }
}

describe('backoffDelayMs', () => {
  it('doubles from baseMs after each failed try, up to capMs', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelayMs(curve, attempt));
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('takes up to `jitter` of each wait off at random, never adding to it', () => {
    const jittered = { ...curve, jitter: 0.2 };
    expect(backoffDelayMs(jittered, 3, () => 0)).toBe(2_000);
    expect(backoffDelayMs(jittered, 3, () => 0.5)).toBe(1_800);
    expect(backoffDelayMs(jittered, 3, () => 0.999_999)).toBe(1_600);
    expect(backoffDelayMs(jittered, 20, () => 1)).toBe(24_000);
  });
});

describe('isRetryable', () => {
  it('is true only for errors flagged retryable', () => {
    expect(isRetryable(new Failure(true))).toBe(true);
    expect(isRetryable(new Failure(false))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
    expect(isRetryable('a string')).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });
});

describe('retry', () => {
  it('retries retryable failures and returns the first success', async () => {
    const tries: number[] = [];
    const result = await retry(async (attempt) => {
      tries.push(attempt);
      if (attempt < 3) throw new Failure(true);
      return 'done';
    }, instant);
    expect(result).toBe('done');
    expect(tries).toEqual([1, 2, 3]);
  });

  it('throws a final error at once, and the last error once the attempts are used', async () => {
    let tries = 0;
    const final = new Failure(false);
    await expect(retry(() => Promise.reject(final).finally(() => tries++), instant)).rejects.toBe(final);
    expect(tries).toBe(1);

    tries = 0;
    await expect(
      retry(() => Promise.reject(new Failure(true)).finally(() => tries++), instant),
    ).rejects.toBeInstanceOf(Failure);
    expect(tries).toBe(5);
  });

  it('asks its own predicate when given one, and reports each wait before it', async () => {
    const waits: Array<{ attempt: number; delayMs: number }> = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Error('plain, so not retryable by default');
        return attempt;
      },
      { ...curve, baseMs: 1, capMs: 2 },
      {
        retryable: (error) => error instanceof Error,
        onRetry: ({ attempt, delayMs }) => waits.push({ attempt, delayMs }),
      },
    );
    expect(result).toBe(3);
    expect(waits).toEqual([
      { attempt: 1, delayMs: 1 },
      { attempt: 2, delayMs: 2 },
    ]);
  });

  it('ends the wait when its signal is aborted, rejecting with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stopping');
    let tries = 0;
    const running = retry(
      async () => {
        tries++;
        throw new Failure(true);
      },
      { ...curve, attempts: Infinity, baseMs: 60_000, capMs: 60_000 },
      { signal: controller.signal, onRetry: () => controller.abort(reason) },
    );
    await expect(running).rejects.toBe(reason);
    expect(tries).toBe(1);
  });
});
