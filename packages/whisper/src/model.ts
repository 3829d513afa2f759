import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { ConfigError, parseModelConfig, type JsonObject, type WhisperModelConfig } from './config.js';
import { ModelLoadError } from './errors.js';
import { N_FRAMES } from './log-mel.js';
import { WhisperTokenizer } from './tokenizer.js';

export interface LoadWhisperModelOptions {
  /** Use onnx/*_quantized.onnx (int8 weights). Default false. */
  quantized?: boolean;
  /** Threads inside one operator. Default 1: predictable on a shared box; raise it for throughput. */
  intraOpNumThreads?: number;
  /** Threads across independent operators. Default 1. */
  interOpNumThreads?: number;
}

const JSON_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
] as const;

/**
 * A loaded Whisper model in the onnx-community layout. Calls that run inference are serialised per model
 * (one utterance at a time; parallelism comes from the session thread counts), which also lets the
 * model own reusable buffers.
 */
export class WhisperModel {
  /** Reused [nMels, 3000] log-mel buffer; only touched inside `exclusive`. */
  readonly melBuffer: Float32Array;
  /**
   * The decoder returns `cross_attentions.{i}` (the onnx-community `_timestamped` layout) and the model names its
   * alignment heads: transcribe() then times every word. Otherwise words are left out, never guessed.
   */
  readonly wordTiming: boolean;
  /** Decoder outputs a generation step needs: logits and the KV cache, not the cross-attention weights. */
  readonly stepOutputs: readonly string[];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly quantized: boolean,
    readonly config: WhisperModelConfig,
    readonly tokenizer: WhisperTokenizer,
    readonly encoder: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
  ) {
    this.melBuffer = new Float32Array(config.nMels * N_FRAMES);
    this.wordTiming = config.alignmentHeads.length > 0 && decoder.outputNames.includes(crossAttentionName(0));
    this.stepOutputs = decoderOutputNames(config.decoderLayers);
  }

  /** Runs `fn` after every earlier exclusive call on this model has settled. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Encoder forward pass: log-mel [nMels, 3000] -> audio features [1, 1500, d_model]. */
  async encode(mel: Float32Array): Promise<ort.Tensor> {
    const input = new ort.Tensor('float32', mel, [1, this.config.nMels, N_FRAMES]);
    const out = await this.encoder.run({ input_features: input });
    return out['last_hidden_state']!;
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}

function decoderInputNames(layers: number): string[] {
  const names = ['input_ids', 'encoder_hidden_states', 'use_cache_branch'];
  for (let i = 0; i < layers; i++) {
    for (const part of ['decoder', 'encoder'])
      for (const kv of ['key', 'value']) names.push(`past_key_values.${i}.${part}.${kv}`);
  }
  return names;
}

/** The `_timestamped` layout's cross-attention weights of decoder layer `layer`: [batch, heads, tokens, 1500]. */
export function crossAttentionName(layer: number): string {
  return `cross_attentions.${layer}`;
}

function decoderOutputNames(layers: number): string[] {
  const names = ['logits'];
  for (let i = 0; i < layers; i++) {
    for (const part of ['decoder', 'encoder'])
      for (const kv of ['key', 'value']) names.push(`present.${i}.${part}.${kv}`);
  }
  return names;
}

async function readJson(dir: string, file: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch (cause) {
    throw new ModelLoadError(file, 'missing or unreadable', { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(file, 'not valid JSON', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ModelLoadError(file, 'must hold a JSON object');
  return parsed as JsonObject;
}

/** In a fixed order, so the error always names the same file when several are broken. */
async function readJsonFiles(dir: string): Promise<JsonObject[]> {
  const parsed: JsonObject[] = [];
  for (const file of JSON_FILES) parsed.push(await readJson(dir, file));
  return parsed;
}

async function openSession(
  dir: string,
  file: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  try {
    const info = await stat(join(dir, file));
    if (!info.isFile()) throw new Error('not a file');
  } catch (cause) {
    throw new ModelLoadError(file, 'missing or unreadable', { cause });
  }
  try {
    return await ort.InferenceSession.create(join(dir, file), options);
  } catch (cause) {
    throw new ModelLoadError(file, 'not a loadable ONNX model', { cause });
  }
}

function expectNames(
  file: string,
  kind: 'input' | 'output',
  actual: readonly string[],
  expected: readonly string[],
): void {
  const missing = expected.filter((name) => !actual.includes(name));
  if (missing.length > 0)
    throw new ModelLoadError(file, `missing ${kind}(s) ${missing.join(', ')}; has ${actual.join(', ')}`);
}

/**
 * Loads and validates a Whisper model directory in the onnx-community layout (config.json,
 * generation_config.json, preprocessor_config.json, tokenizer.json, onnx/encoder_model[_quantized].onnx,
 * onnx/decoder_model_merged[_quantized].onnx). Never downloads anything. Throws ModelLoadError naming
 * the first file that is missing, corrupt or inconsistent with the others.
 */
export async function loadWhisperModel(
  dir: string,
  options: LoadWhisperModelOptions = {},
): Promise<WhisperModel> {
  const quantized = options.quantized ?? false;
  const suffix = quantized ? '_quantized' : '';
  const encoderFile = `onnx/encoder_model${suffix}.onnx`;
  const decoderFile = `onnx/decoder_model_merged${suffix}.onnx`;

  const [config, generation, preprocessor, tokenizerJson] = await readJsonFiles(dir);
  let tokenizer: WhisperTokenizer;
  try {
    tokenizer = WhisperTokenizer.fromJson(tokenizerJson);
  } catch (cause) {
    throw new ModelLoadError(
      'tokenizer.json',
      `not a byte-level BPE tokenizer: ${(cause as Error).message}`,
      { cause },
    );
  }
  let modelConfig: WhisperModelConfig;
  try {
    modelConfig = parseModelConfig(config!, generation!, preprocessor!, tokenizer);
  } catch (cause) {
    if (cause instanceof ConfigError) throw new ModelLoadError(cause.file, cause.message, { cause });
    throw cause;
  }

  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    interOpNumThreads: options.interOpNumThreads ?? 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  const encoder = await openSession(dir, encoderFile, sessionOptions);
  let decoder: ort.InferenceSession;
  try {
    decoder = await openSession(dir, decoderFile, sessionOptions);
  } catch (error) {
    await encoder.release();
    throw error;
  }
  try {
    expectNames(encoderFile, 'input', encoder.inputNames, ['input_features']);
    expectNames(encoderFile, 'output', encoder.outputNames, ['last_hidden_state']);
    const layers = modelConfig.decoderLayers;
    const layersNote = ` (config.json says decoder_layers = ${layers})`;
    const checkDecoder = (kind: 'input' | 'output', actual: readonly string[], expected: string[]): void => {
      const missing = expected.filter((name) => !actual.includes(name));
      if (missing.length > 0)
        throw new ModelLoadError(decoderFile, `missing ${kind}(s) ${missing.join(', ')}${layersNote}`);
    };
    checkDecoder('input', decoder.inputNames, decoderInputNames(layers));
    checkDecoder('output', decoder.outputNames, decoderOutputNames(layers));
    const attentions = Array.from({ length: layers }, (_, i) => crossAttentionName(i));
    const present = attentions.filter((name) => decoder.outputNames.includes(name));
    if (present.length > 0 && present.length < layers)
      throw new ModelLoadError(
        decoderFile,
        `has cross_attentions outputs for ${present.length} of ${layers} decoder layers`,
      );
    const extraLayer = `past_key_values.${layers}.decoder.key`;
    if (decoder.inputNames.includes(extraLayer))
      throw new ModelLoadError(decoderFile, `has more decoder layers than${layersNote}`);
  } catch (error) {
    await Promise.all([encoder.release(), decoder.release()]);
    throw error;
  }
  return new WhisperModel(dir, quantized, modelConfig, tokenizer, encoder, decoder);
}
