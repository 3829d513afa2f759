import { rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelLoadError } from './errors.js';
import { loadWhisperModel } from './model.js';
import { copyFixture, FIXTURE_DIR } from './testing/reference.js';

async function loadError(dir: string, quantized = false): Promise<ModelLoadError> {
  const error: unknown = await loadWhisperModel(dir, { quantized }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelLoadError);
  return error as ModelLoadError;
}

describe('loadWhisperModel', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
  });
  async function scratch(): ReturnType<typeof copyFixture> {
    const copy = await copyFixture();
    cleanups.push(copy.remove);
    return copy;
  }

  it('loads the fixture model and reads its configuration', async () => {
    const model = await loadWhisperModel(FIXTURE_DIR, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    try {
      expect(model.config).toMatchObject({
        nMels: 80,
        dModel: 64,
        decoderLayers: 2,
        decoderHeads: 2,
        vocabSize: 618,
        maxTargetPositions: 64,
        isMultilingual: true,
      });
      expect(model.config.languages.get('en')).toBe(model.config.tokens.sot + 1);
      expect(model.config.timePrecision).toBe(0.2);
      expect(model.config.timestampCount).toBe(151);
      expect(model.config.maxInitialTimestampIndex).toBe(5);
      expect(model.quantized).toBe(false);
    } finally {
      await model.release();
    }
  });

  it('loads the quantized variant', async () => {
    const model = await loadWhisperModel(FIXTURE_DIR, { quantized: true });
    expect(model.quantized).toBe(true);
    await model.release();
  });

  it.each([
    'config.json',
    'generation_config.json',
    'preprocessor_config.json',
    'tokenizer.json',
    'onnx/encoder_model.onnx',
    'onnx/decoder_model_merged.onnx',
  ])('names a missing %s', async (file) => {
    const copy = await scratch();
    await rm(join(copy.dir, file));
    const error = await loadError(copy.dir);
    expect(error.file).toBe(file);
    expect(error.message).toContain('missing');
  });

  it('names the missing quantized file when quantized weights are asked for', async () => {
    const copy = await scratch();
    await rm(join(copy.dir, 'onnx/decoder_model_merged_quantized.onnx'));
    expect((await loadError(copy.dir, true)).file).toBe('onnx/decoder_model_merged_quantized.onnx');
    const model = await loadWhisperModel(copy.dir); // the fp32 files are still complete
    await model.release();
  });

  it('names a corrupt ONNX file', async () => {
    const copy = await scratch();
    await truncate(join(copy.dir, 'onnx/encoder_model.onnx'), 1000);
    const error = await loadError(copy.dir);
    expect(error.file).toBe('onnx/encoder_model.onnx');
    expect(error.message).toContain('not a loadable ONNX model');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('names a config file that is not JSON', async () => {
    const copy = await scratch();
    await writeFile(join(copy.dir, 'generation_config.json'), '{"suppress_tokens": [1, 2,');
    const error = await loadError(copy.dir);
    expect(error.file).toBe('generation_config.json');
    expect(error.message).toContain('not valid JSON');
  });

  it('names the config field that is wrong', async () => {
    const copy = await scratch();
    await copy.editJson('config.json', (c) => (c['decoder_layers'] = 'two'));
    const error = await loadError(copy.dir);
    expect(error.file).toBe('config.json');
    expect(error.message).toContain('decoder_layers');
  });

  it('names alignment heads outside the decoder', async () => {
    const copy = await scratch();
    await copy.editJson('generation_config.json', (g) => (g['alignment_heads'] = [[2, 0]]));
    const error = await loadError(copy.dir);
    expect(error.file).toBe('generation_config.json');
    expect(error.message).toContain('alignment_heads');
  });

  it('names preprocessor_config.json when its mel count disagrees with config.json', async () => {
    const copy = await scratch();
    await copy.editJson('preprocessor_config.json', (c) => (c['feature_size'] = 128));
    const error = await loadError(copy.dir);
    expect(error.file).toBe('preprocessor_config.json');
    expect(error.message).toContain('num_mel_bins');
  });

  it('refuses a front end it does not implement', async () => {
    const copy = await scratch();
    await copy.editJson('preprocessor_config.json', (c) => (c['hop_length'] = 320));
    expect((await loadError(copy.dir)).message).toContain('hop_length');
  });

  it('names the decoder when its inputs do not match the configured layer count', async () => {
    const copy = await scratch();
    await copy.editJson('config.json', (c) => (c['decoder_layers'] = 3));
    const error = await loadError(copy.dir);
    expect(error.file).toBe('onnx/decoder_model_merged.onnx');
    expect(error.message).toContain('past_key_values.2.decoder.key');
  });

  it('names generation_config.json when a special token id points at the wrong token', async () => {
    const copy = await scratch();
    await copy.editJson('generation_config.json', (g) => (g['decoder_start_token_id'] = 5));
    const error = await loadError(copy.dir);
    expect(error.file).toBe('generation_config.json');
    expect(error.message).toContain('<|startoftranscript|>');
  });

  it('names tokenizer.json when it is not a byte-level BPE tokenizer', async () => {
    const copy = await scratch();
    await copy.editJson('tokenizer.json', (t) => (t['decoder'] = { type: 'WordPiece' }));
    expect((await loadError(copy.dir)).file).toBe('tokenizer.json');
  });
});
