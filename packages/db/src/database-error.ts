import pg from 'pg';
import { CalltxError } from '@calltx/events';
import { errorCode, isTransientNetworkCode } from '@calltx/retry';

/**
 * SQLSTATEs worth retrying: the same statement can succeed on another attempt or connection.
 * 08xxx connection exceptions are matched by class below.
 */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (also the embedded server's lock-wait timeout)
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
/** node-postgres reports lost or timed-out connections as plain Errors with these messages and no code. */
const RETRYABLE_PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/;

/** A failed database operation. `code` is the SQLSTATE (or socket error code) when known. */
export class DatabaseError extends CalltxError {
  readonly operation: string;
  readonly code: string | undefined;
  /**
   * Postgres refused a value (SQLSTATE class 22, data exception: a date out of range, a NUL or invalid byte, bad
   * syntax for a type). The input is at fault: no retry helps, and an API answers it as a bad request.
   */
  readonly refusedInput: boolean;

  constructor(operation: string, cause: unknown, options: { message?: string; retryable?: boolean } = {}) {
    const code = errorCode(cause);
    const detail = options.message ?? (cause instanceof Error ? cause.message : String(cause));
    super(`database ${operation} failed: ${detail}`, {
      cause,
      retryable: options.retryable ?? isRetryable(code, cause),
    });
    this.operation = operation;
    this.code = code;
    this.refusedInput = code?.startsWith('22') ?? false;
  }
}

/**
 * Wraps errors from Postgres or from the connection to it; anything else (a caller's own error, another
 * module's CalltxError) passes through unchanged.
 */
export function toDatabaseError(operation: string, error: unknown): unknown {
  if (error instanceof CalltxError) return error;
  const fromPostgres = error instanceof pg.DatabaseError;
  const fromConnection =
    error instanceof Error &&
    (isTransientNetworkCode(errorCode(error)) || RETRYABLE_PG_MESSAGES.test(error.message));
  return fromPostgres || fromConnection ? new DatabaseError(operation, error) : error;
}

function isRetryable(code: string | undefined, cause: unknown): boolean {
  if (code !== undefined) {
    return code.startsWith('08') || RETRYABLE_SQLSTATES.has(code) || isTransientNetworkCode(code);
  }
  return cause instanceof Error && RETRYABLE_PG_MESSAGES.test(cause.message);
}
