/** A model directory that cannot be used: names the file that is missing, unreadable or inconsistent. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';

  constructor(
    /** Path of the offending file, relative to the model directory (e.g. `onnx/encoder_model.onnx`). */
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
  }
}

/** A transcribe() call whose input or options the model cannot serve. */
export class TranscribeInputError extends Error {
  override readonly name = 'TranscribeInputError';
}
