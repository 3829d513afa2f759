/** The hub organisation whose Whisper exports the transcriber's engine reads (encoder + merged decoder). */
export const DEFAULT_ORGANISATION = 'onnx-community';

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The onnx-community exports whose decoder also returns `cross_attentions.{i}`: the engine times words with them. */
export const TIMESTAMPED_SUFFIX = '_timestamped';

/**
 * `tiny.en` → `onnx-community/whisper-tiny.en`, or with `timestamped` its `_timestamped` variant
 * (`onnx-community/whisper-tiny.en_timestamped`, the same files plus cross-attention outputs); a name that already
 * ends in `_timestamped` keeps it. A full `owner/name` is taken as it is.
 */
export function repoForModel(name: string, options: { timestamped?: boolean } = {}): string {
  if (REPO_ID.test(name)) {
    if (options.timestamped && !name.endsWith(TIMESTAMPED_SUFFIX))
      throw new RangeError(
        `"${name}" is a repository: name its _timestamped variant instead of --timestamped`,
      );
    return name;
  }
  if (!MODEL_NAME.test(name) || name.includes('..'))
    throw new RangeError(
      `"${name}" is not a model name (e.g. tiny.en, base, small.en) or an owner/name repository`,
    );
  const base = name.replace(/^whisper-/, '');
  const suffix = options.timestamped && !base.endsWith(TIMESTAMPED_SUFFIX) ? TIMESTAMPED_SUFFIX : '';
  return `${DEFAULT_ORGANISATION}/whisper-${base}${suffix}`;
}

/** Files the engine needs, in the onnx-community layout; the quantized variant swaps the two graphs. */
export function whisperModelFiles(quantized: boolean): string[] {
  const suffix = quantized ? '_quantized' : '';
  return [
    'config.json',
    'generation_config.json',
    'preprocessor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    `onnx/encoder_model${suffix}.onnx`,
    `onnx/decoder_model_merged${suffix}.onnx`,
  ];
}

/**
 * Weights a graph keeps outside its `.onnx` file (ONNX external data, beside the graph; onnxruntime finds it when the
 * session is created from the graph's path). Exports over protobuf's 2 GB limit have them, e.g. whisper-large's fp32
 * `onnx/encoder_model.onnx_data`; smaller models do not, so these are fetched only when the hub has them.
 */
export function externalDataFiles(graphs: readonly string[]): string[] {
  return graphs.filter((file) => file.endsWith('.onnx')).map((graph) => `${graph}_data`);
}
