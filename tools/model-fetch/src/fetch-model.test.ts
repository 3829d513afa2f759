import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DownloadError, RemoteFileNotFoundError, VerificationError } from './errors.js';
import { MODEL_FETCH_RETRY } from './download-file.js';
import { fetchWhisperModel } from './fetch-model.js';
import { repoForModel, whisperModelFiles } from './layout.js';
import { startFakeHub, type FakeHub } from './testing/fake-hub.js';

/** The Whisper engine's committed random-weights model: the same layout as onnx-community's exports. */
const MODEL = fileURLToPath(
  new URL('../../../packages/whisper/fixtures/whisper-test-random', import.meta.url),
);
const REPO = 'onnx-community/whisper-test-random';
/** The same model in the `_timestamped` layout (decoder outputs cross_attentions.{i}), as the hub names it. */
const TIMESTAMPED = fileURLToPath(
  new URL('../../../packages/whisper/fixtures/whisper-test-timestamped', import.meta.url),
);
const TIMESTAMPED_REPO = 'onnx-community/whisper-test-random_timestamped';
const ENCODER = 'onnx/encoder_model.onnx';

let hub: FakeHub;
let dir: string;

beforeAll(async () => {
  hub = await startFakeHub({ [REPO]: MODEL, [TIMESTAMPED_REPO]: TIMESTAMPED });
});
afterAll(() => hub.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-fetch-'));
  hub.requests.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const fetchTest = ({
  quantized,
  timestamped,
  attempts = MODEL_FETCH_RETRY.attempts,
}: { quantized?: boolean; timestamped?: boolean; attempts?: number } = {}) =>
  fetchWhisperModel({
    model: 'test-random',
    dir,
    baseUrl: hub.url,
    quantized,
    timestamped,
    retry: { ...MODEL_FETCH_RETRY, attempts, baseMs: 0, capMs: 0 },
  });

async function expectSameFiles(modelDir: string, files: string[]): Promise<void> {
  for (const file of files) {
    // Buffer.equals: a deep toEqual over megabytes takes seconds.
    expect((await readFile(join(modelDir, file))).equals(await readFile(join(MODEL, file))), file).toBe(true);
  }
}

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

describe('fetchWhisperModel', () => {
  it('downloads the layout the engine reads, pinned to one commit, and skips verified files the next time', async () => {
    const result = await fetchTest();
    expect(result.repo).toBe(REPO);
    expect(result.commit).toBe(hub.commit);
    expect(result.modelDir).toBe(join(dir, 'whisper-test-random'));
    const files = whisperModelFiles(false);
    expect(await listTree(result.modelDir)).toEqual([...files].sort());
    await expectSameFiles(result.modelDir, files);
    expect(result.files.map((f) => f.outcome)).toEqual(files.map(() => 'downloaded'));
    // LFS files carry a sha256; small git files only a size.
    expect(result.files.find((f) => f.file === ENCODER)!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.files.find((f) => f.file === 'config.json')!.sha256).toBeUndefined();
    // Every file after the first lookup comes from the pinned commit.
    const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.includes('/resolve/'));
    expect(gets.every((r) => r.path.includes(`/resolve/${hub.commit}/`))).toBe(true);

    hub.requests.length = 0;
    const again = await fetchTest();
    expect(again.files.map((f) => f.outcome)).toEqual(files.map(() => 'present'));
    expect(hub.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  it('fetches the _timestamped variant with --timestamped, into its own directory', async () => {
    const result = await fetchTest({ timestamped: true });
    expect(result.repo).toBe(TIMESTAMPED_REPO);
    expect(result.modelDir).toBe(join(dir, 'whisper-test-random_timestamped'));
    const files = whisperModelFiles(false);
    expect(await listTree(result.modelDir)).toEqual([...files].sort());
    for (const file of files)
      expect(
        (await readFile(join(result.modelDir, file))).equals(await readFile(join(TIMESTAMPED, file))),
        file,
      ).toBe(true);
    expect(hub.requests.some((r) => r.path.startsWith(`/${REPO}/`))).toBe(false);
  });

  it('fetches the int8 graphs with --quantized', async () => {
    const result = await fetchTest({ quantized: true });
    const files = whisperModelFiles(true);
    expect(files).toContain('onnx/encoder_model_quantized.onnx');
    expect(files).toContain('onnx/decoder_model_merged_quantized.onnx');
    expect(await listTree(result.modelDir)).toEqual([...files].sort());
    await expectSameFiles(result.modelDir, files);
  });

  it("fetches a graph's external data (`.onnx_data`) when the export has it, verified like the graph", async () => {
    const large = await mkdtemp(join(tmpdir(), 'model-fetch-large-'));
    try {
      await cp(MODEL, large, { recursive: true });
      const weights = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < weights.length; i += 1) weights[i] = (i * 7919) & 0xff;
      await writeFile(join(large, 'onnx/encoder_model.onnx_data'), weights);
      const largeHub = await startFakeHub({ 'onnx-community/whisper-test-large': large });
      try {
        const result = await fetchWhisperModel({ model: 'test-large', dir, baseUrl: largeHub.url });
        const data = result.files.find((f) => f.file === 'onnx/encoder_model.onnx_data');
        expect(data).toMatchObject({ bytes: weights.length, outcome: 'downloaded' });
        expect(data!.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(await listTree(result.modelDir)).toEqual(
          [...whisperModelFiles(false), 'onnx/encoder_model.onnx_data'].sort(),
        );
        expect((await readFile(join(result.modelDir, 'onnx/encoder_model.onnx_data'))).equals(weights)).toBe(
          true,
        );
      } finally {
        await largeHub.close();
      }
    } finally {
      await rm(large, { recursive: true, force: true });
    }
  });

  it('resumes a transfer cut mid-file with an HTTP Range request', async () => {
    const size = (await stat(join(MODEL, ENCODER))).size;
    const cutAt = Math.floor(size * 0.4);
    hub.cutNextTransfer(ENCODER, cutAt);
    const result = await fetchTest();
    await expectSameFiles(result.modelDir, [ENCODER]);
    expect(result.files.find((f) => f.file === ENCODER)!.outcome).toBe('resumed');
    const transfers = hub.requests.filter(
      (r) => r.method === 'GET' && r.path.startsWith('/cdn/') && r.bytesSent > 0,
    );
    const encoderTransfers = transfers.filter((r) => r.range !== undefined || r.bytesSent === cutAt);
    expect(encoderTransfers.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`]);
    expect(encoderTransfers.reduce((sum, r) => sum + r.bytesSent, 0)).toBe(size);
  });

  it('resumes from the .part an interrupted run left behind', async () => {
    const size = (await stat(join(MODEL, ENCODER))).size;
    const cutAt = Math.floor(size * 0.6);
    hub.cutNextTransfer(ENCODER, cutAt);
    await expect(fetchTest({ attempts: 1 })).rejects.toBeInstanceOf(DownloadError);
    const modelDir = join(dir, 'whisper-test-random');
    // What the client got before the cut: the bytes in flight when the socket is destroyed may never arrive.
    const partSize = (await stat(join(modelDir, `${ENCODER}.part`))).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThanOrEqual(cutAt);
    await expect(stat(join(modelDir, ENCODER))).rejects.toThrow(/ENOENT/);

    hub.requests.length = 0;
    const result = await fetchTest();
    expect(result.files.find((f) => f.file === ENCODER)!.outcome).toBe('resumed');
    const ranged = hub.requests.filter((r) => r.path.startsWith('/cdn/') && r.range !== undefined);
    expect(ranged.map((r) => [r.range, r.bytesSent])).toEqual([[`bytes=${partSize}-`, size - partSize]]);
    await expectSameFiles(result.modelDir, whisperModelFiles(false));
    expect((await listTree(modelDir)).some((f) => f.endsWith('.part') || f.endsWith('.part.json'))).toBe(
      false,
    );
  });

  it('starts over when the .part belongs to another version of the file', async () => {
    const modelDir = join(dir, 'whisper-test-random');
    await mkdir(join(modelDir, 'onnx'), { recursive: true });
    await writeFile(join(modelDir, `${ENCODER}.part`), Buffer.alloc(1000, 7));
    await writeFile(join(modelDir, `${ENCODER}.part.json`), JSON.stringify({ size: 123, sha256: null }));
    const result = await fetchTest();
    expect(result.files.find((f) => f.file === ENCODER)!.outcome).toBe('downloaded');
    await expectSameFiles(modelDir, [ENCODER]);
  });

  it('refuses a file whose sha256 differs from the announced one and leaves nothing under its name', async () => {
    hub.corrupt('onnx/decoder_model_merged.onnx');
    const error = await fetchTest().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).check).toBe('sha256');
    expect((error as Error).message).toContain('onnx/decoder_model_merged.onnx');
    const tree = await listTree(join(dir, 'whisper-test-random'));
    expect(tree).not.toContain('onnx/decoder_model_merged.onnx');
    expect(tree.some((f) => f.includes('decoder_model_merged.onnx.part'))).toBe(false);
  });

  it('refuses a file whose size differs from the announced one', async () => {
    const size = (await stat(join(MODEL, 'tokenizer.json'))).size;
    hub.misreportSize('tokenizer.json', size + 10);
    // The body ends early against the announced size (retried as a cut transfer), then the server has no more.
    const error = await fetchTest({ attempts: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as Error).message).toBe(
      `tokenizer.json failed verification: size is ${size}, expected ${size + 10}`,
    );
    await expect(stat(join(dir, 'whisper-test-random', 'tokenizer.json.part'))).rejects.toThrow(/ENOENT/);

    hub.misreportSize('tokenizer.json', size - 10);
    const smaller = await fetchTest().catch((e: unknown) => e);
    expect(smaller).toBeInstanceOf(VerificationError);
    expect((smaller as VerificationError).check).toBe('size');
    await expect(stat(join(dir, 'whisper-test-random', 'tokenizer.json'))).rejects.toThrow(/ENOENT/);
    hub.misreportSize('tokenizer.json', size);
  });

  it('fails on an unknown model before downloading anything', async () => {
    const error = await fetchWhisperModel({ model: 'nonexistent', dir, baseUrl: hub.url }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteFileNotFoundError);
    expect((error as Error).message).toContain('onnx-community/whisper-nonexistent/resolve/main/config.json');
    await expect(stat(join(dir, 'whisper-nonexistent'))).rejects.toThrow(/ENOENT/);
  });

  it('fails on a file missing from the repository (HTTP 404) before downloading anything', async () => {
    const other = await mkdtemp(join(tmpdir(), 'model-fetch-src-'));
    try {
      await writeFile(join(other, 'config.json'), '{}');
      const partial = await startFakeHub({ 'onnx-community/whisper-partial': other });
      try {
        const error = await fetchWhisperModel({ model: 'partial', dir, baseUrl: partial.url }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RemoteFileNotFoundError);
        expect((error as RemoteFileNotFoundError).status).toBe(404);
        expect(partial.requests.filter((r) => r.method === 'GET')).toEqual([]);
      } finally {
        await partial.close();
      }
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('repoForModel', () => {
  it('names the onnx-community export, or its _timestamped variant', () => {
    expect(repoForModel('base.en')).toBe('onnx-community/whisper-base.en');
    expect(repoForModel('base.en', { timestamped: true })).toBe('onnx-community/whisper-base.en_timestamped');
    expect(repoForModel('whisper-tiny', { timestamped: true })).toBe(
      'onnx-community/whisper-tiny_timestamped',
    );
    expect(repoForModel('small_timestamped')).toBe('onnx-community/whisper-small_timestamped');
    expect(repoForModel('small_timestamped', { timestamped: true })).toBe(
      'onnx-community/whisper-small_timestamped',
    );
    expect(repoForModel('me/whisper-x_timestamped', { timestamped: true })).toBe('me/whisper-x_timestamped');
    expect(() => repoForModel('me/whisper-x', { timestamped: true })).toThrow(RangeError);
  });
});

describe('model-fetch CLI', () => {
  const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('downloads with progress and prints the directory to configure', async () => {
    const { code, stdout, stderr } = await run([
      'test-random',
      '--quantized',
      '--dir',
      dir,
      '--base-url',
      hub.url,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`WHISPER_MODEL_DIR=${join(dir, 'whisper-test-random')} WHISPER_QUANTIZED=true`);
    expect(stderr).toMatch(/onnx\/encoder_model_quantized\.onnx {2}[\d.]+\/[\d.]+ MB {2}100%/);
    await expectSameFiles(join(dir, 'whisper-test-random'), whisperModelFiles(true));
  });

  it('takes the _timestamped variant with --timestamped', async () => {
    // A hub of its own: an earlier test corrupts the shared hub's decoder.
    const own = await startFakeHub({ [TIMESTAMPED_REPO]: TIMESTAMPED });
    try {
      const { code, stdout, stderr } = await run([
        'test-random',
        '--timestamped',
        '--dir',
        dir,
        '--base-url',
        own.url,
      ]);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain(`WHISPER_MODEL_DIR=${join(dir, 'whisper-test-random_timestamped')}\n`);
    } finally {
      await own.close();
    }
  });

  it('exits non-zero naming what was not found, and 2 on bad usage', async () => {
    const missing = await run(['nonexistent', '--dir', dir, '--base-url', hub.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('whisper-nonexistent');
    expect(missing.stderr).toContain('was not found (HTTP 401)');
    expect((await run([])).code).toBe(2);
  });
});
