import { deflateSync } from 'node:zlib';
import type ort from 'onnxruntime-node';
import { DecoderSession } from './decoder-session.js';
import { TranscribeInputError } from './errors.js';
import { CHUNK_SAMPLES, logMel, SAMPLE_RATE } from './log-mel.js';
import type { WhisperModel } from './model.js';
import { argmax, findRepetitionLoop, LogitRules, logSumExp } from './rules.js';
import { alignWords, type WhisperWord } from './timing.js';

export interface TranscribeOptions {
  /** Language code ("en", "de", ...). Multilingual models detect it when omitted; English-only models accept only "en". */
  language?: string;
  task?: 'transcribe' | 'translate';
  /** Generate timestamp tokens and return segments. Default false (<|notimestamps|> in the prompt). */
  withTimestamps?: boolean;
  /** Upper bound on generated tokens; the audio-length budget and n_text_ctx / 2 still apply. */
  maxNewTokens?: number;
  /** Decode with the KV cache (default). false recomputes the whole sequence each step. */
  useKvCache?: boolean;
  /** Stop when the output falls into an n-gram loop, and cut the repeats. Default true. */
  stopOnRepetition?: boolean;
  /** With avgLogProb below logProbThreshold, a no-speech probability above this rejects the result as silence. Default 0.6. */
  noSpeechThreshold?: number;
  /** Text whose gzip compression ratio exceeds this is rejected as repetitive. Default 2.4. */
  compressionRatioThreshold?: number;
  /** See noSpeechThreshold. Default -1. */
  logProbThreshold?: number;
  /** Time every word when the model can (`model.wordTiming`). Default true. */
  wordTimestamps?: boolean;
  /**
   * Whisper's previous-text prompt (`initial_prompt`; see encodePrevious): text tokens placed after
   * <|startofprev|> ahead of <|startoftranscript|>, steering spelling and vocabulary. The latest
   * maxPreviousTokens are kept.
   */
  previous?: readonly number[];
}

export interface WhisperSegment {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  text: string;
  tokens: number[];
}

export type StopReason = 'eot' | 'max-tokens' | 'repetition';
export type RejectReason = 'no-speech' | 'compression-ratio';

export interface TranscribeResult {
  /** What the decoder was prompted with: [<|startofprev|> previous] <|startoftranscript|> [<|lang|> <|task|>] [<|notimestamps|>]. */
  prompt: number[];
  /** Generated tokens (timestamps included), without the prompt and without <|endoftext|>. */
  tokens: number[];
  /** Decoded text, trimmed; empty when the result was rejected. */
  text: string;
  /** Timestamped segments (withTimestamps only; empty when rejected). */
  segments: WhisperSegment[];
  /**
   * Every word of the text with its time, from the alignment heads (see alignWords); absent when the model has
   * no cross-attention outputs or alignment heads, or when wordTimestamps is false. Empty when rejected.
   */
  words?: WhisperWord[];
  /** Language used in the prompt; null for English-only models. */
  language: string | null;
  /** Probability of <|nocaptions|>/<|nospeech|> at the <|startoftranscript|> position. */
  noSpeechProb: number;
  /** Mean log-probability of the sampled tokens (<|endoftext|> included when it ended decoding). */
  avgLogProb: number;
  /** UTF-8 length of the text over its deflated length (Whisper's repetition measure). */
  compressionRatio: number;
  stopReason: StopReason;
  /** Why the hallucination guards discarded the text, or null. */
  rejected: RejectReason | null;
  /** The token budget this call ran with. */
  tokenBudget: number;
  /** Where the call's time went, in ms: what an operator sizes replicas by. */
  timing: TranscribeTiming;
}

/** Wall time per stage of one transcribe() call, in ms (decoder includes language detection and the logit rules). */
export interface TranscribeTiming {
  logMelMs: number;
  encoderMs: number;
  decoderMs: number;
  /** The word-timing pass (0 without word timing). */
  wordsMs: number;
}

/** Generous speech rate: ~3 words/s is fast talk, ~1.3 tokens a word, plus timestamp pairs. */
export const TOKENS_PER_SECOND = 8;
export const TOKEN_BUDGET_BASE = 12;

/** How many tokens an utterance of this length may produce: min(rate x seconds + base, n_text_ctx / 2, room left). */
export function tokenBudget(
  model: WhisperModel,
  samples: number,
  promptLength: number,
  maxNewTokens?: number,
): number {
  const seconds = Math.min(samples, CHUNK_SAMPLES) / SAMPLE_RATE;
  const ctx = model.config.maxTargetPositions;
  let budget = Math.min(
    Math.ceil(seconds * TOKENS_PER_SECOND) + TOKEN_BUDGET_BASE,
    Math.floor(ctx / 2),
    ctx - promptLength,
  );
  if (maxNewTokens !== undefined) budget = Math.min(budget, maxNewTokens);
  return Math.max(0, budget);
}

export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length === 0 ? 0 : bytes.length / deflateSync(bytes).length;
}

/** Previous-text tokens a prompt keeps, as openai-whisper: n_text_ctx / 2 - 1 (223 for Whisper's 448). */
export function maxPreviousTokens(model: WhisperModel): number {
  return Math.max(0, Math.floor(model.config.maxTargetPositions / 2) - 1);
}

/**
 * Text as previous-text prompt tokens, encoded as openai-whisper encodes `initial_prompt` (" " + the trimmed
 * text); blank text gives none. Throws TranscribeInputError when the model has no <|startofprev|> or the
 * text spells a special token.
 */
export function encodePrevious(model: WhisperModel, text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (model.config.tokens.startOfPrev === undefined)
    throw new TranscribeInputError('this model has no <|startofprev|> token: it cannot take a prompt');
  try {
    return model.tokenizer.encode(` ${trimmed}`);
  } catch (cause) {
    throw new TranscribeInputError(`the prompt cannot be encoded: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Whisper's prompt: [<|startofprev|> previous] <|startoftranscript|> [<|lang|> <|task|>] [<|notimestamps|>].
 * Previous-text tokens past maxPreviousTokens are cut from the start, as openai-whisper does.
 */
export function buildPrompt(
  model: WhisperModel,
  language: string | null,
  task: 'transcribe' | 'translate',
  withTimestamps: boolean,
  previous: readonly number[] = [],
): number[] {
  const { tokens, isMultilingual, languages } = model.config;
  const prompt: number[] = [];
  if (previous.length > 0) {
    if (tokens.startOfPrev === undefined)
      throw new TranscribeInputError('this model has no <|startofprev|> token: it cannot take a prompt');
    const keep = maxPreviousTokens(model);
    prompt.push(tokens.startOfPrev, ...(keep === 0 ? [] : previous.slice(-keep)));
  }
  prompt.push(tokens.sot);
  if (isMultilingual) {
    const languageToken = language === null ? undefined : languages.get(language);
    if (languageToken === undefined)
      throw new TranscribeInputError(`language ${JSON.stringify(language)} is not supported by this model`);
    prompt.push(languageToken, task === 'translate' ? tokens.translate : tokens.transcribe);
  }
  if (!withTimestamps) prompt.push(tokens.noTimestamps);
  return prompt;
}

/**
 * Transcribes one utterance of at most 30 s (16 kHz mono float samples in [-1, 1]) with greedy decoding.
 * Calls on the same model run one after another.
 */
export function transcribe(
  model: WhisperModel,
  samples16k: Float32Array,
  options: TranscribeOptions = {},
): Promise<TranscribeResult> {
  if (samples16k.length > CHUNK_SAMPLES) {
    return Promise.reject(
      new TranscribeInputError(`audio is ${samples16k.length / SAMPLE_RATE} s; one call takes at most 30 s`),
    );
  }
  return model.exclusive(() => run(model, samples16k, options));
}

async function run(
  model: WhisperModel,
  samples16k: Float32Array,
  options: TranscribeOptions,
): Promise<TranscribeResult> {
  const { config, tokenizer } = model;
  const task = options.task ?? 'transcribe';
  const withTimestamps = options.withTimestamps ?? false;
  if (!config.isMultilingual && (task !== 'transcribe' || (options.language ?? 'en') !== 'en')) {
    throw new TranscribeInputError('this model is English-only: language must be "en" and task "transcribe"');
  }

  const started = performance.now();
  const mel = logMel(samples16k, model.melBuffer, config.nMels);
  const melDone = performance.now();
  const audioFeatures = await model.encode(mel);
  const encoderDone = performance.now();
  const language = config.isMultilingual
    ? (options.language ?? (await detectLanguage(model, audioFeatures)))
    : null;
  const prompt = buildPrompt(model, language, task, withTimestamps, options.previous);
  // The <|startoftranscript|> position: its logits give the no-speech probability, and word timing starts there.
  const sotIndex = prompt.indexOf(config.tokens.sot);
  const budget = tokenBudget(model, samples16k.length, prompt.length, options.maxNewTokens);

  const session = new DecoderSession(model, audioFeatures, options.useKvCache ?? true);
  const rules = new LogitRules(config);
  const vocab = config.vocabSize;
  const row = new Float64Array(vocab);
  const sequence = [...prompt];
  const generated: number[] = [];
  let noSpeechProb = 0;
  let sumLogProb = 0;
  let sampled = 0;
  let stopReason: StopReason = 'max-tokens';

  for (let step = 0; step < budget; step++) {
    const { logits, rows } = await session.step(sequence);
    if (step === 0) {
      const sotRow = sotIndex * vocab;
      for (let i = 0; i < vocab; i++) row[i] = logits[sotRow + i]!;
      noSpeechProb = Math.exp(row[config.tokens.noSpeech]! - logSumExp(row, 0, vocab));
    }
    const lastRow = (rows - 1) * vocab;
    for (let i = 0; i < vocab; i++) row[i] = logits[lastRow + i]!;
    rules.apply(row, generated, withTimestamps);
    const token = argmax(row);
    sumLogProb += row[token]! - logSumExp(row, 0, vocab);
    sampled++;
    if (token === config.tokens.eot) {
      stopReason = 'eot';
      break;
    }
    generated.push(token);
    sequence.push(token);
    if (options.stopOnRepetition ?? true) {
      const keep = findRepetitionLoop(generated);
      if (keep !== undefined) {
        generated.length = keep;
        stopReason = 'repetition';
        break;
      }
    }
  }

  const textTokens = generated.filter((t) => t < config.tokens.eot);
  const text = tokenizer.decode(textTokens).trim();
  const avgLogProb = sampled === 0 ? 0 : sumLogProb / sampled;
  const ratio = compressionRatio(text);
  let rejected: RejectReason | null = null;
  if (noSpeechProb > (options.noSpeechThreshold ?? 0.6) && avgLogProb < (options.logProbThreshold ?? -1))
    rejected = 'no-speech';
  else if (ratio > (options.compressionRatioThreshold ?? 2.4)) rejected = 'compression-ratio';

  const decoderDone = performance.now();
  let words: WhisperWord[] | undefined;
  let wordsMs = 0;
  if (model.wordTiming && (options.wordTimestamps ?? true)) {
    const sotSequence = prompt.slice(sotIndex).filter((t) => t !== config.tokens.noTimestamps);
    words = rejected
      ? []
      : await alignWords(model, audioFeatures, sotSequence, textTokens, samples16k.length, language);
    wordsMs = performance.now() - decoderDone;
  }

  return {
    prompt,
    tokens: generated,
    text: rejected ? '' : text,
    segments:
      rejected || !withTimestamps ? [] : toSegments(model, generated, samples16k.length / SAMPLE_RATE),
    ...(words === undefined ? {} : { words }),
    language,
    noSpeechProb,
    avgLogProb,
    compressionRatio: ratio,
    stopReason,
    rejected,
    tokenBudget: budget,
    timing: {
      logMelMs: melDone - started,
      encoderMs: encoderDone - melDone,
      decoderMs: decoderDone - encoderDone,
      wordsMs,
    },
  };
}

/** Whisper's language detection: the most likely language token right after <|startoftranscript|>. */
async function detectLanguage(model: WhisperModel, audioFeatures: ort.Tensor): Promise<string> {
  const session = new DecoderSession(model, audioFeatures, false);
  const { logits } = await session.step([model.config.tokens.sot]);
  let best: string | undefined;
  let bestLogit = -Infinity;
  for (const [code, id] of model.config.languages) {
    if (logits[id]! > bestLogit) {
      bestLogit = logits[id]!;
      best = code;
    }
  }
  return best!;
}

/** Splits <|t0|> text <|t1|> ... into segments; text after an unclosed timestamp ends at the audio's end. */
function toSegments(
  model: WhisperModel,
  tokens: readonly number[],
  durationSeconds: number,
): WhisperSegment[] {
  const { timestampBegin } = model.config.tokens;
  const precision = model.config.timePrecision;
  const segments: WhisperSegment[] = [];
  let start: number | undefined;
  let lastEnd = 0;
  let pending: number[] = [];
  const close = (end: number): void => {
    if (start !== undefined && pending.length > 0) {
      segments.push({ start, end, text: model.tokenizer.decode(pending).trim(), tokens: pending });
      lastEnd = end;
    }
    pending = [];
  };
  for (const token of tokens) {
    if (token >= timestampBegin) {
      const time = Math.round((token - timestampBegin) * precision * 100) / 100;
      if (start === undefined || pending.length === 0) {
        start = time;
      } else {
        close(time);
        start = undefined;
      }
    } else {
      start ??= lastEnd;
      pending.push(token);
    }
  }
  if (start !== undefined) close(Math.max(start, Math.round(durationSeconds * 100) / 100));
  return segments;
}
