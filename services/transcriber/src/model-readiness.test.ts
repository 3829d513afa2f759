import { cp, mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_MODEL_DIR, eventually, startStack, type TranscriberStack } from './testing/harness.js';
import { spawnTranscriber, stopProcess, type TranscriberProcess } from './testing/process.js';

let stack: TranscriberStack;
let dir: string;
let proc: TranscriberProcess | undefined;

beforeAll(async () => {
  stack = await startStack();
  dir = await mkdtemp(join(tmpdir(), 'transcriber-model-'));
});
afterAll(async () => {
  if (proc) await stopProcess(proc);
  await rm(dir, { recursive: true, force: true });
  await stack?.close();
});

async function readiness(baseUrl: string): Promise<{ status: number; failing: string[] }> {
  const response = await fetch(`${baseUrl}/readyz`);
  return { status: response.status, failing: ((await response.json()) as { failing: string[] }).failing };
}

describe('a replica whose model is missing or corrupt', () => {
  it('stays alive and unready saying what is wrong, and becomes ready once the model is fixed', async () => {
    const modelDir = join(dir, 'whisper-test-random');
    proc = await spawnTranscriber({
      ...stack.env,
      WHISPER_MODEL_DIR: modelDir,
      WHISPER_MODEL_RETRY_MS: '300',
    });

    // Missing: the directory does not exist.
    await eventually(async () => {
      const { status, failing } = await readiness(proc!.baseUrl);
      expect(status).toBe(503);
      expect(failing).toContain(`model: config.json: missing or unreadable (in ${modelDir})`);
    });
    const logged = await proc.logged(
      (l) => l.msg === 'whisper model could not be loaded; the replica stays unready and tries again',
    );
    expect(logged).toMatchObject({ level: 50, file: 'config.json', modelDir });

    // Corrupt: every file there, the encoder cut short.
    await cp(TEST_MODEL_DIR, modelDir, { recursive: true });
    await truncate(join(modelDir, 'onnx/encoder_model.onnx'), 1000);
    await eventually(async () => {
      const { failing } = await readiness(proc!.baseUrl);
      expect(failing).toContain(`model: onnx/encoder_model.onnx: not a loadable ONNX model (in ${modelDir})`);
    });
    await proc.logged((l) => l.file === 'onnx/encoder_model.onnx');

    // Fixed: the next attempt loads it and the replica starts consuming.
    await cp(join(TEST_MODEL_DIR, 'onnx/encoder_model.onnx'), join(modelDir, 'onnx/encoder_model.onnx'));
    await eventually(async () =>
      expect(await readiness(proc!.baseUrl)).toEqual({ status: 200, failing: [] }),
    );
    await proc.logged((l) => l.msg === 'consuming');
    expect(proc.child.exitCode).toBeNull();
    expect((await fetch(`${proc.baseUrl}/healthz`)).status).toBe(200);
  });

  it('names an unusable configuration: a language the model lacks, or a bad variable', async () => {
    if (proc) await stopProcess(proc);
    proc = await spawnTranscriber({ ...stack.env, WHISPER_LANGUAGE: 'xx' });
    await eventually(async () => {
      const { failing } = await readiness(proc!.baseUrl);
      expect(failing).toContain('model: WHISPER_LANGUAGE "xx" is not one of this model\'s languages');
    });
    await stopProcess(proc);
    proc = undefined;

    const failed = spawnTranscriber({ ...stack.env, TRANSCRIBER_CONCURRENCY: '0', WHISPER_QUANTIZED: 'yes' });
    await expect(failed).rejects.toThrow(
      /TRANSCRIBER_CONCURRENCY.*\n.*WHISPER_QUANTIZED must be true or false/s,
    );
  });
});
