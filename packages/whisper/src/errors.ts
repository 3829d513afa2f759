import { CalltxError } from '@calltx/events';

/**
 * A model directory that cannot be used: names the file that is missing, unreadable or inconsistent. Retryable:
 * the directory may still be filling (an init container downloading) or be fixed in place.
 */
export class ModelLoadError extends CalltxError {
  override readonly name = 'ModelLoadError';

  constructor(
    /** Path of the offending file, relative to the model directory (e.g. `onnx/encoder_model.onnx`). */
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, { cause: options?.cause, retryable: true });
  }
}

/** A transcribe() call whose input or options the model cannot serve: the same call fails again. */
export class TranscribeInputError extends CalltxError {
  override readonly name = 'TranscribeInputError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}
