import type { RetryPolicy } from '@calltx/retry';

/**
 * Waiting on JetStream: the nak delay of a message whose handler failed retryably (its deliveries are bounded by
 * the consumer's `maxDeliver`, not by `attempts`), and a start that waits for an unavailable cluster. 0.5 s,
 * doubling to 30 s; jitter spreads the consumers and replicas that failed together in one outage.
 */
export const JETSTREAM_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 500, capMs: 30_000, jitter: 0.2 };
