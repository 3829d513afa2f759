/**
 * Why WAV input was rejected. `truncated` means the bytes stop early (a header parse may
 * succeed with more of the file); the others will not change with more bytes.
 */
export type WavFormatProblem = 'not-riff' | 'truncated' | 'unsupported' | 'corrupt';

export class WavFormatError extends Error {
  readonly problem: WavFormatProblem;

  constructor(problem: WavFormatProblem, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WavFormatError';
    this.problem = problem;
  }
}
