import { CalltxError } from '@calltx/events';
import { errorCode, isTransientNetworkCode } from '@calltx/retry';

/** S3 error codes that mean "try again later". */
const RETRYABLE_S3_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);

/** A failed object-store operation. `code` is the S3 error code (NoSuchKey, AccessDenied, ...) when known. */
export class StorageError extends CalltxError {
  readonly operation: string;
  readonly key: string | undefined;
  readonly code: string | undefined;

  constructor(operation: string, key: string | undefined, cause: unknown, message?: string) {
    const code = errorCode(cause);
    const detail = message ?? (cause instanceof Error ? cause.message : String(cause));
    super(`object store ${operation}${key === undefined ? '' : ` "${key}"`} failed: ${detail}`, {
      cause,
      retryable: code !== undefined && (RETRYABLE_S3_CODES.has(code) || isTransientNetworkCode(code)),
    });
    this.operation = operation;
    this.key = key;
    this.code = code;
  }
}
