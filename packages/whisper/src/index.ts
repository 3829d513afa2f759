export { ModelLoadError, TranscribeInputError } from './errors.js';
export { logMel, SAMPLE_RATE, N_FFT, HOP_LENGTH, N_FRAMES, CHUNK_SAMPLES } from './log-mel.js';
export { WhisperTokenizer } from './tokenizer.js';
export type { WhisperModelConfig } from './config.js';
export { loadWhisperModel, WhisperModel, type LoadWhisperModelOptions } from './model.js';
export { DecoderSession } from './decoder-session.js';
export {
  transcribe,
  tokenBudget,
  buildPrompt,
  encodePrevious,
  maxPreviousTokens,
  compressionRatio,
  TOKENS_PER_SECOND,
  TOKEN_BUDGET_BASE,
  type TranscribeOptions,
  type TranscribeResult,
  type TranscribeTiming,
  type WhisperSegment,
  type StopReason,
  type RejectReason,
} from './transcribe.js';
export { findRepetitionLoop, loopRepeatsNeeded } from './rules.js';
export { alignWords, type WhisperWord } from './timing.js';
