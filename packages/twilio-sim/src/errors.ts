/** Where in the simulated call flow something went wrong. */
export type CallStage = 'voice-webhook' | 'twiml' | 'media-stream' | 'audio';

/** A simulated call could not be carried out; `stage` says where, `cause` holds the underlying error. */
export class SimulatedCallError extends Error {
  override readonly name = 'SimulatedCallError';
  constructor(
    readonly stage: CallStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${stage}: ${message}`, options);
  }
}

/** The call audio (WAV file or sample arrays) is unusable. */
export class CallAudioError extends Error {
  override readonly name = 'CallAudioError';
}
