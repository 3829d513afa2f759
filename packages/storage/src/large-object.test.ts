import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { s3ForTests, type S3ForTests } from '@calltx/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, type ObjectStore } from './object-store.js';

const MiB = 1024 * 1024;
/** More than minio-js's 64 MiB part size, like an hour of 16 kHz 16-bit mono audio (115 MB). */
const OBJECT_SIZE = 80 * MiB + 12_345;
const CHUNK = 256 * 1024;

/**
 * V8 frees dead Buffers lazily (after tens of MiB of garbage), so raw RSS mostly measures garbage.
 * Collecting before each sample makes RSS show what is really held.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

class RssWatch {
  private readonly baseline: number;
  peakGrowth = 0;

  constructor() {
    collectGarbage();
    this.baseline = process.memoryUsage().rss;
  }

  sample(): void {
    collectGarbage();
    this.peakGrowth = Math.max(this.peakGrowth, process.memoryUsage().rss - this.baseline);
  }
}

/** Deterministic pseudo-random bytes (xorshift32), made chunk by chunk so the whole never exists at once. */
async function* generate(totalBytes: number, seed: number, onChunk: (index: number) => void = () => {}) {
  let state = seed >>> 0 || 1;
  for (let sent = 0, index = 0; sent < totalBytes; sent += CHUNK, index += 1) {
    onChunk(index);
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, totalBytes - sent));
    const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
    for (let i = 0; i < words.length; i += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      words[i] = state >>> 0;
    }
    for (let i = words.length * 4; i < chunk.length; i += 1) chunk[i] = i & 0xff;
    yield chunk;
  }
}

describe('large objects', () => {
  let s3: S3ForTests;
  let store: ObjectStore;

  beforeAll(async () => {
    s3 = await s3ForTests();
    store = createObjectStore(s3.config);
  });
  afterAll(() => s3.stop());

  it('streams an object over 64 MiB up and back in bounded memory', { timeout: 120_000 }, async () => {
    const expected = createHash('sha256');
    for await (const chunk of generate(OBJECT_SIZE, 42)) expected.update(chunk);

    const rss = new RssWatch();
    const sampleEvery4MiB = (index: number): void => (index % 16 === 0 ? rss.sample() : undefined);
    const result = await store.putStream('calls/long/audio.raw', generate(OBJECT_SIZE, 42, sampleEvery4MiB));
    expect(result.size).toBe(OBJECT_SIZE);

    const actual = createHash('sha256');
    let downloaded = 0;
    let sampledAt = 0;
    for await (const chunk of await store.getObject('calls/long/audio.raw')) {
      actual.update(chunk as Buffer);
      downloaded += (chunk as Buffer).length;
      if (downloaded - sampledAt >= 4 * MiB) {
        rss.sample();
        sampledAt = downloaded;
      }
    }
    rss.sample();

    expect(downloaded).toBe(OBJECT_SIZE);
    expect(actual.digest('hex')).toBe(expected.digest('hex'));
    expect((await store.stat('calls/long/audio.raw'))?.size).toBe(OBJECT_SIZE);
    // Measured ~16 MiB (the 8 MiB part buffer and sockets; with embedded s3rver in this process too).
    // Holding the object would add over 80 MiB.
    expect(rss.peakGrowth).toBeLessThan(32 * MiB);
  });
});
