/** The one retry backoff: redeliveries after a retryable failure, and waits for an unavailable JetStream. */
export const defaultRetryDelay = (attempt: number) => Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
