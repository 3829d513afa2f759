/**
 * Base of every named error that crosses a module boundary. `retryable` tells the caller whether the same
 * operation may succeed later (a redelivery, a backoff) or will fail again (bad input, bad config).
 */
export class CalltxError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** A message or request that does not match its schema. Never retryable: the same bytes fail again. */
export class InvalidMessageError extends CalltxError {
  readonly issues: readonly string[];

  constructor(what: string, issues: readonly string[], cause?: unknown) {
    super(`Invalid ${what}: ${issues.join('; ')}`, { cause, retryable: false });
    this.issues = issues;
  }
}
