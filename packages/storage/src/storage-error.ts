import { CalltxError } from '@calltx/events';

/** S3 error codes that mean "try again later". */
const RETRYABLE_S3_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);
/** Socket-level failures: the server may be restarting or briefly unreachable. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
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
      retryable: code !== undefined && (RETRYABLE_S3_CODES.has(code) || RETRYABLE_NETWORK_CODES.has(code)),
    });
    this.operation = operation;
    this.key = key;
    this.code = code;
  }
}

function errorCode(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  // AggregateError from a dual-stack connect attempt carries the socket codes on its members.
  const inner = (cause as { errors?: unknown }).errors;
  return Array.isArray(inner) && inner.length > 0 ? errorCode(inner[0]) : undefined;
}
