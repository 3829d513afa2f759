/**
 * How an operation is retried: every retry loop and redelivery delay in calltx is one of these, declared as a
 * named constant where it is used (e.g. `JETSTREAM_RETRY` in @calltx/nats), so all curves have one shape and
 * can be compared in one place (docs/reliability.md, "Retries").
 */
export interface RetryPolicy {
  /** Tries in all, the first one included; `Infinity` retries until success, a final error or an abort. */
  readonly attempts: number;
  /** Wait after the first failed try; it doubles after each further one. */
  readonly baseMs: number;
  /** Longest wait. */
  readonly capMs: number;
  /**
   * Share of each wait drawn at random, 0..1: the wait is uniform in [(1 − jitter)·d, d], never longer than the
   * curve. 0 keeps the exact curve; jitter spreads retriers that failed together (every consumer after an outage).
   */
  readonly jitter: number;
}

/** The wait after failed try number `attempt` (from 1): `baseMs · 2^(attempt − 1)`, at most `capMs`, less jitter. */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exact = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return policy.jitter > 0 ? Math.round(exact * (1 - policy.jitter * random())) : exact;
}

/**
 * The default answer to "may this failure succeed later?": the error says so with `retryable: true` (the flag of
 * calltx's base error, `CalltxError`). Read by shape, so this package needs no dependency. Anything else is final.
 */
export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

export interface RetryOptions {
  /** Whether the failure of try `attempt` may be retried. Default `isRetryable`. */
  retryable?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait, e.g. to log or count the failure. */
  onRetry?: (failure: { error: unknown; attempt: number; delayMs: number }) => void;
  /** Aborting ends the wait and rejects with the signal's reason; stopping a try in flight is up to `operation`. */
  signal?: AbortSignal;
}

/**
 * Runs `operation` (given the try's number, from 1) until it resolves, fails with an error that is not retryable,
 * or has been tried `policy.attempts` times; the last error is thrown as it is. Waits follow `backoffDelayMs`.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const { signal } = options;
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt += 1) {
    signal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !retryable(error, attempt)) throw error;
      const delayMs = backoffDelayMs(policy, attempt);
      options.onRetry?.({ error, attempt, delayMs });
      await wait(delayMs, signal);
    }
  }
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const aborted = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
