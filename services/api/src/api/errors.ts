import type { ErrorRequestHandler, RequestHandler } from 'express';
import { CalltxError } from '@calltx/events';
import { DatabaseError } from '@calltx/db';
import { StorageError } from '@calltx/storage';
import { type Logger } from '@calltx/runtime';

export type ApiErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'not_found'
  | 'conflict'
  | 'too_many_requests'
  | 'unavailable'
  | 'not_configured'
  | 'internal';

/** Answers a client may repeat unchanged and expect to succeed later. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * An error with the HTTP answer it stands for. Its message is shown to the client: no personal data, no secrets.
 * Retryable exactly when its status tells the client to try again (429, 503).
 */
export class ApiError extends CalltxError {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause, retryable: RETRYABLE_STATUSES.has(status) });
    this.headers = options.headers ?? {};
  }
  readonly headers: Record<string, string>;
}

export const unauthorized = (message: string, tokenError?: 'invalid_token') =>
  new ApiError(401, 'unauthorized', message, {
    headers: {
      'WWW-Authenticate': tokenError
        ? `Bearer realm="calltx", error="${tokenError}", error_description="${message.replace(/"/g, "'")}"`
        : 'Bearer realm="calltx"',
    },
  });

export const invalidRequest = (message: string) => new ApiError(400, 'invalid_request', message);

const UNDEFINED_TABLE = '42P01';

/** JSON errors `{ error: { code, message } }` for everything under the API; details of failures go to the log only. */
export function apiErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const apiError = toApiError(error);
    if (apiError.status >= 500) {
      logger.error(
        { err: error, method: req.method, route: req.route?.path ?? req.path },
        'api request failed',
      );
    }
    res
      .status(apiError.status)
      .set(apiError.headers)
      .json({ error: { code: apiError.code, message: apiError.message } });
  };
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // express.json() reports unreadable bodies as http-errors: a 4xx status, a type and a message fit to show.
  const { status, type, expose, message } = error as {
    status?: number;
    type?: string;
    expose?: boolean;
    message?: string;
  };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const text =
      type === 'entity.parse.failed'
        ? 'the request body is not valid JSON'
        : expose && message
          ? message
          : 'invalid request';
    return new ApiError(status === 413 ? 400 : status, 'invalid_request', text);
  }
  if (error instanceof DatabaseError && error.refusedInput) {
    // Postgres's message names the problem, then quotes the value: the first part is enough.
    const problem = (error.cause instanceof Error ? error.cause.message : '').split(':')[0];
    return invalidRequest(
      `a value in the request is out of range or malformed${problem ? ` (${problem})` : ''}`,
    );
  }
  if (error instanceof DatabaseError) {
    return error.code === UNDEFINED_TABLE
      ? new ApiError(503, 'unavailable', 'call history is not set up yet (the read model is being created)')
      : new ApiError(503, 'unavailable', 'call history is unavailable, try again shortly', {
          headers: { 'Retry-After': '2' },
        });
  }
  if (error instanceof StorageError) {
    return new ApiError(503, 'unavailable', 'audio storage is unavailable, try again shortly');
  }
  return new ApiError(500, 'internal', 'internal error');
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no such API route: ${req.method} ${req.path}`));
};
