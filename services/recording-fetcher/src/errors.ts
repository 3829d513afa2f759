import { CalltxError } from '@calltx/events';

/**
 * Why a recording could not be fetched and archived; `code` is what the `recordings` row records. Retryable ones
 * (Twilio not ready, 5xx, timeouts, cut transfers) are tried again up to RECORDING_FETCH_ATTEMPTS.
 */
export type FetchFailureCode =
  | 'unauthorized'
  | 'not-ready'
  | 'rate-limited'
  | 'server-error'
  | 'refused'
  | 'timeout'
  | 'too-slow'
  | 'connection-failed'
  | 'truncated'
  | 'redirect-refused'
  | 'too-many-redirects'
  | 'too-large'
  | 'invalid-wav'
  | 'not-dual-channel'
  | 'unsupported-encoding'
  | 'length-mismatch';

export class RecordingFetchError extends CalltxError {
  readonly code: FetchFailureCode;

  constructor(
    code: FetchFailureCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Another delivery of the same recording holds its lease: try again later (JetStream redelivers with backoff). */
export class RecordingBusyError extends CalltxError {
  constructor(recordingSid: string) {
    super(`recording ${recordingSid} is being processed by another delivery`, { retryable: true });
  }
}

/**
 * This delivery's lease on the recording expired or was taken over, so it stops before writing anything more;
 * the redelivery finds the recording stored by the new holder, or takes the lease again.
 */
export class RecordingLeaseLostError extends CalltxError {
  constructor(recordingSid: string, reason: string) {
    super(`lease on recording ${recordingSid} lost: ${reason}`, { retryable: true });
  }
}

/** Work abandoned because the service is stopping; another replica (or this one, restarted) takes it over. */
export class ShuttingDownError extends CalltxError {
  constructor(cause?: unknown) {
    super('abandoned: the service is shutting down', { retryable: true, cause });
  }
}
