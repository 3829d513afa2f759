import { CalltxError } from '@calltx/events';

/** Base of every model-fetch failure; `retryable` says whether trying the same download again may help. */
export class ModelFetchError extends CalltxError {}

/** The hub answered 401/403/404: no such model or file (the Hugging Face hub says 401 for unknown repositories). */
export class RemoteFileNotFoundError extends ModelFetchError {
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`${url} was not found (HTTP ${status}): check the model name`);
  }
}

/** A downloaded file is not the one the hub announced (size or sha256). */
export class VerificationError extends ModelFetchError {
  constructor(
    readonly file: string,
    readonly check: 'size' | 'sha256',
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file} failed verification: ${check} is ${actual}, expected ${expected}`);
  }
}

/** The transfer failed (network, 5xx, cut connection): resumable. */
export class DownloadError extends ModelFetchError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause, retryable: true });
  }
}
