import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveModelFile, SILERO_VAD_V6, VadModelNotFoundError } from './model-file.js';
import { SileroVad } from './silero-vad.js';

describe('resolveModelFile', () => {
  it('finds the Silero v6 model in the installed package', () => {
    const path = resolveModelFile();
    expect(path).toMatch(/@jjhbw[/+]silero-vad.*weights[/]silero_vad_op18_ifless\.onnx$/);
    expect(existsSync(path)).toBe(true);
  });

  it('names the package that is not installed', () => {
    const missing = { packageName: '@calltx/no-such-vad-model', file: 'model.onnx' };
    expect(() => resolveModelFile(missing)).toThrow(VadModelNotFoundError);
    expect(() => resolveModelFile(missing)).toThrow(/"@calltx\/no-such-vad-model" is not installed/);
  });

  it('names the file missing from an installed package', () => {
    const source = { ...SILERO_VAD_V6, file: 'weights/silero_vad_v99.onnx' };
    expect(() => resolveModelFile(source)).toThrow(
      /"weights\/silero_vad_v99\.onnx" is missing from package "@jjhbw\/silero-vad"/,
    );
  });
});

describe('SileroVad.load without a model', () => {
  it('fails with VadModelNotFoundError for a package that is not installed', async () => {
    await expect(
      SileroVad.load({ model: { packageName: '@calltx/no-such-vad-model', file: 'model.onnx' } }),
    ).rejects.toBeInstanceOf(VadModelNotFoundError);
  });

  it('fails with VadModelNotFoundError for a model path that does not exist', async () => {
    await expect(SileroVad.load({ modelPath: '/nonexistent/silero_vad.onnx' })).rejects.toThrow(
      new VadModelNotFoundError('VAD model file /nonexistent/silero_vad.onnx does not exist'),
    );
  });
});
