import { CalltxError } from '@calltx/events';

/** Where in the simulated call flow something went wrong. */
export type CallStage = 'voice-webhook' | 'twiml' | 'media-stream' | 'audio';

/** A simulated call could not be carried out; `stage` says where, `cause` holds the underlying error. */
export class SimulatedCallError extends CalltxError {
  override readonly name = 'SimulatedCallError';
  constructor(
    readonly stage: CallStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    // A simulated call is a test's or benchmark's single attempt: nothing retries it.
    super(`${stage}: ${message}`, { cause: options?.cause, retryable: false });
  }
}

/** The call audio (WAV file or sample arrays) is unusable. */
export class CallAudioError extends CalltxError {
  override readonly name = 'CallAudioError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: false });
  }
}
