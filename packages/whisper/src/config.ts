import { CalltxError } from '@calltx/events';
import { CHUNK_SECONDS, HOP_LENGTH, N_FFT, N_FRAMES, SAMPLE_RATE } from './log-mel.js';
import type { WhisperTokenizer } from './tokenizer.js';

/** What the engine needs to know about a model, gathered from its JSON files and tokenizer. */
export interface WhisperModelConfig {
  readonly nMels: number;
  readonly dModel: number;
  readonly decoderLayers: number;
  readonly decoderHeads: number;
  readonly vocabSize: number;
  /** n_text_ctx: the decoder's maximum sequence length (prompt + generated tokens). */
  readonly maxTargetPositions: number;
  readonly isMultilingual: boolean;
  /** Language code (e.g. "en") -> language token id; empty for English-only models. */
  readonly languages: ReadonlyMap<string, number>;
  readonly tokens: {
    readonly eot: number;
    readonly sot: number;
    readonly transcribe: number;
    readonly translate: number;
    readonly noTimestamps: number;
    readonly noSpeech: number;
    readonly timestampBegin: number;
    /** <|startofprev|>, which opens a previous-text prompt; absent from tokenizers that lack it. */
    readonly startOfPrev: number | undefined;
  };
  readonly suppressTokens: readonly number[];
  readonly beginSuppressTokens: readonly number[];
  /** Latest timestamp index allowed as the first generated token (Whisper's max_initial_timestamp). */
  readonly maxInitialTimestampIndex: number | undefined;
  /** Seconds per timestamp step (0.02 for real Whisper models). */
  readonly timePrecision: number;
  readonly timestampCount: number;
  /** [decoder layer, head] pairs whose cross-attention follows the audio (generation_config.json); may be empty. */
  readonly alignmentHeads: readonly (readonly [number, number])[];
  /** Median filter width for word timing (config.json `median_filter_width`, Whisper's 7 when absent). */
  readonly medianFilterWidth: number;
}

export type JsonObject = Record<string, unknown>;

/** Thrown by the parsers below; the loader turns it into a ModelLoadError naming `file`. */
export class ConfigError extends CalltxError {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(reason, { retryable: false });
  }
}

function int(file: string, obj: JsonObject, key: string, fallback?: JsonObject): number {
  const value = obj[key] ?? fallback?.[key];
  if (!Number.isInteger(value) || (value as number) < 0)
    throw new ConfigError(file, `"${key}" must be a non-negative integer`);
  return value as number;
}

function intList(file: string, obj: JsonObject, key: string, fallback?: JsonObject): number[] {
  const value = obj[key] ?? fallback?.[key] ?? [];
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new ConfigError(file, `"${key}" must be an array of token ids`);
  }
  return value as number[];
}

function expectValue(file: string, obj: JsonObject, key: string, expected: number): void {
  if (obj[key] !== undefined && obj[key] !== expected) {
    throw new ConfigError(
      file,
      `"${key}" is ${JSON.stringify(obj[key])}; this engine supports only ${expected}`,
    );
  }
}

const TIMESTAMP = /^<\|(\d+\.\d+)\|>$/;

export function parseModelConfig(
  config: JsonObject,
  generation: JsonObject,
  preprocessor: JsonObject,
  tokenizer: WhisperTokenizer,
): WhisperModelConfig {
  const CONFIG = 'config.json';
  const GENERATION = 'generation_config.json';
  const PREPROCESSOR = 'preprocessor_config.json';
  const TOKENIZER = 'tokenizer.json';

  if (config['model_type'] !== 'whisper')
    throw new ConfigError(
      CONFIG,
      `"model_type" must be "whisper", got ${JSON.stringify(config['model_type'])}`,
    );
  const nMels = int(CONFIG, config, 'num_mel_bins');
  const dModel = int(CONFIG, config, 'd_model');
  const decoderLayers = int(CONFIG, config, 'decoder_layers');
  const decoderHeads = int(CONFIG, config, 'decoder_attention_heads');
  const vocabSize = int(CONFIG, config, 'vocab_size');
  const maxTargetPositions = int(CONFIG, config, 'max_target_positions');
  if (decoderHeads === 0 || dModel % decoderHeads !== 0)
    throw new ConfigError(CONFIG, '"d_model" must be a multiple of "decoder_attention_heads"');
  expectValue(CONFIG, config, 'max_source_positions', N_FRAMES / 2);

  const featureSize = int(PREPROCESSOR, preprocessor, 'feature_size');
  if (featureSize !== nMels)
    throw new ConfigError(
      PREPROCESSOR,
      `"feature_size" ${featureSize} differs from num_mel_bins ${nMels} in config.json`,
    );
  expectValue(PREPROCESSOR, preprocessor, 'sampling_rate', SAMPLE_RATE);
  expectValue(PREPROCESSOR, preprocessor, 'n_fft', N_FFT);
  expectValue(PREPROCESSOR, preprocessor, 'hop_length', HOP_LENGTH);
  expectValue(PREPROCESSOR, preprocessor, 'chunk_length', CHUNK_SECONDS);
  expectValue(PREPROCESSOR, preprocessor, 'nb_max_frames', N_FRAMES);

  // Older exports keep some generation fields in config.json.
  const eot = int(GENERATION, generation, 'eos_token_id', config);
  const sot = int(GENERATION, generation, 'decoder_start_token_id', config);
  const noTimestamps = int(GENERATION, generation, 'no_timestamps_token_id');
  const suppressTokens = intList(GENERATION, generation, 'suppress_tokens', config);
  const beginSuppressTokens = intList(GENERATION, generation, 'begin_suppress_tokens', config);

  const langToId = generation['lang_to_id'] ?? {};
  if (typeof langToId !== 'object' || langToId === null || Array.isArray(langToId))
    throw new ConfigError(GENERATION, '"lang_to_id" must be an object');
  const languages = new Map<string, number>();
  for (const [name, id] of Object.entries(langToId)) {
    const code = /^<\|([a-z]+)\|>$/.exec(name)?.[1];
    if (!code || !Number.isInteger(id))
      throw new ConfigError(GENERATION, `"lang_to_id" entry ${JSON.stringify(name)} is not "<|code|>": id`);
    languages.set(code, id as number);
  }
  const multilingualFlag = generation['is_multilingual'];
  if (multilingualFlag !== undefined && typeof multilingualFlag !== 'boolean')
    throw new ConfigError(GENERATION, '"is_multilingual" must be a boolean');
  const isMultilingual = multilingualFlag ?? languages.size > 0;
  if (isMultilingual && languages.size === 0)
    throw new ConfigError(GENERATION, 'a multilingual model needs "lang_to_id"');

  const tokenId = (name: string): number => {
    const id = tokenizer.idOf(name);
    if (id === undefined) throw new ConfigError(TOKENIZER, `special token ${name} is missing`);
    return id;
  };
  const taskToId = (generation['task_to_id'] ?? {}) as JsonObject;
  const transcribe = Number.isInteger(taskToId['transcribe'])
    ? (taskToId['transcribe'] as number)
    : tokenId('<|transcribe|>');
  const translate = Number.isInteger(taskToId['translate'])
    ? (taskToId['translate'] as number)
    : tokenId('<|translate|>');
  const noSpeech = tokenizer.idOf('<|nospeech|>') ?? tokenId('<|nocaptions|>');
  for (const [name, id] of [
    ['<|endoftext|>', eot],
    ['<|startoftranscript|>', sot],
    ['<|notimestamps|>', noTimestamps],
  ] as const) {
    if (tokenizer.nameOf(id) !== name)
      throw new ConfigError(
        GENERATION,
        `token ${id} should be ${name} but the tokenizer calls it ${tokenizer.nameOf(id) ?? 'nothing'}`,
      );
  }

  const timestampBegin = noTimestamps + 1;
  if (tokenizer.size > vocabSize)
    throw new ConfigError(
      CONFIG,
      `"vocab_size" ${vocabSize} is smaller than the tokenizer's ${tokenizer.size} tokens`,
    );
  const { timePrecision, timestampCount } = timestamps(tokenizer, timestampBegin, vocabSize);

  const maxInitial = generation['max_initial_timestamp_index'];
  if (maxInitial !== undefined && maxInitial !== null && !Number.isInteger(maxInitial)) {
    throw new ConfigError(GENERATION, '"max_initial_timestamp_index" must be an integer');
  }
  const alignmentHeads = parseAlignmentHeads(generation['alignment_heads'], decoderLayers, decoderHeads);
  const medianFilterWidth = config['median_filter_width'] ?? 7;
  if (
    !Number.isInteger(medianFilterWidth) ||
    (medianFilterWidth as number) < 1 ||
    (medianFilterWidth as number) % 2 === 0
  )
    throw new ConfigError(CONFIG, '"median_filter_width" must be an odd positive integer');
  return {
    nMels,
    dModel,
    decoderLayers,
    decoderHeads,
    vocabSize,
    maxTargetPositions,
    isMultilingual,
    languages,
    tokens: {
      eot,
      sot,
      transcribe,
      translate,
      noTimestamps,
      noSpeech,
      timestampBegin,
      startOfPrev: tokenizer.idOf('<|startofprev|>'),
    },
    suppressTokens,
    beginSuppressTokens,
    // Absent: Whisper's default, a first timestamp of at most 1 s. null: no limit.
    maxInitialTimestampIndex:
      maxInitial === null ? undefined : ((maxInitial as number | undefined) ?? Math.round(1 / timePrecision)),
    timePrecision,
    timestampCount,
    alignmentHeads,
    medianFilterWidth: medianFilterWidth as number,
  };
}

function parseAlignmentHeads(value: unknown, layers: number, heads: number): [number, number][] {
  if (value === undefined || value === null) return [];
  const valid =
    Array.isArray(value) &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        Number.isInteger(pair[0]) &&
        Number.isInteger(pair[1]) &&
        pair[0] >= 0 &&
        pair[0] < layers &&
        pair[1] >= 0 &&
        pair[1] < heads,
    );
  if (!valid)
    throw new ConfigError(
      'generation_config.json',
      `"alignment_heads" must be [layer, head] pairs within ${layers} decoder layers and ${heads} heads`,
    );
  return value as [number, number][];
}

/**
 * Timestamp tokens follow <|notimestamps|>. Their step is read from their names (<|0.00|>, <|0.02|>, ...);
 * older tokenizer.json files leave them out, and then the ids up to vocab_size are Whisper's 1501 steps of 0.02 s.
 */
function timestamps(
  tokenizer: WhisperTokenizer,
  timestampBegin: number,
  vocabSize: number,
): { timePrecision: number; timestampCount: number } {
  const stamps: number[] = [];
  for (let id = timestampBegin; ; id++) {
    const match = TIMESTAMP.exec(tokenizer.nameOf(id) ?? '');
    if (!match) break;
    stamps.push(Number(match[1]));
  }
  if (stamps.length >= 2 && stamps[0] === 0)
    return { timePrecision: stamps[1]!, timestampCount: stamps.length };
  if (stamps.length === 0 && vocabSize - timestampBegin === 1501)
    return { timePrecision: 0.02, timestampCount: 1501 };
  throw new ConfigError(
    'tokenizer.json',
    'expected timestamp tokens <|0.00|>, <|0.02|>, ... right after <|notimestamps|>',
  );
}
