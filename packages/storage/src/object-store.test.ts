import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { s3ForTests, type S3ForTests } from '@calltx/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, type ObjectStore } from './object-store.js';
import { StorageError } from './storage-error.js';

const MiB = 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createObjectStore', () => {
  let s3: S3ForTests;
  let store: ObjectStore;

  beforeAll(async () => {
    s3 = await s3ForTests();
    store = createObjectStore({ ...s3.config, partSizeBytes: 5 * MiB });
  });
  afterAll(() => s3.stop());

  it('puts, stats, reads whole and in ranges, lists and removes objects', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await store.putObject('calls/CA1/audio.raw', body, {
      contentType: 'audio/L16',
      metadata: { callSid: 'CA1', sampleRate: '16000' },
    });
    await store.putObject('calls/CA2/audio.raw', Buffer.from('x'));
    await store.putObject('other/file', Buffer.from('y'));

    expect(await store.stat('calls/CA1/audio.raw')).toMatchObject({
      size: 20,
      contentType: 'audio/L16',
      metadata: { callsid: 'CA1', samplerate: '16000' },
    });
    expect((await readAll(await store.getObject('calls/CA1/audio.raw'))).equals(body)).toBe(true);
    expect((await store.getBuffer('calls/CA1/audio.raw')).equals(body)).toBe(true);
    expect((await store.getRange('calls/CA1/audio.raw', 10, 4)).toString()).toBe('abcd');
    expect((await store.getRange('calls/CA1/audio.raw', 18, 10)).toString()).toBe('ij');
    expect(await store.getRange('calls/CA1/audio.raw', 3, 0)).toHaveLength(0);
    expect(await collect(store.list('calls/'))).toEqual([
      { key: 'calls/CA1/audio.raw', size: 20 },
      { key: 'calls/CA2/audio.raw', size: 1 },
    ]);

    await store.remove('calls/CA1/audio.raw');
    expect(await store.stat('calls/CA1/audio.raw')).toBeNull();
    await store.remove('calls/CA1/audio.raw'); // already gone: no error
    expect((await collect(store.list('calls/'))).map((o) => o.key)).toEqual(['calls/CA2/audio.raw']);
  });

  it('reports a missing object as a non-retryable StorageError with its S3 code', async () => {
    const error = await store.getObject('missing/key').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({
      code: 'NoSuchKey',
      retryable: false,
      operation: 'getObject',
      key: 'missing/key',
    });
  });

  it('streams a small object up with a single PUT and keeps its metadata', async () => {
    const result = await store.putStream(
      'small/stream',
      Readable.from([Buffer.from('ab'), Buffer.from('cd')]),
      {
        contentType: 'text/plain',
        metadata: { kind: 'test' },
      },
    );
    expect(result.size).toBe(4);
    expect(await store.stat('small/stream')).toMatchObject({
      size: 4,
      contentType: 'text/plain',
      metadata: { kind: 'test' },
    });
    expect((await readAll(await store.getObject('small/stream'))).toString()).toBe('abcd');
  });

  it('uploads a buffer larger than one part in parts, keeping metadata', async () => {
    const body = Buffer.alloc(12 * MiB + 123);
    for (let i = 0; i < body.length; i += 1) body[i] = (i * 31 + (i >> 13)) & 0xff;
    await store.putObject('big/buffer', body, {
      contentType: 'application/octet-stream',
      metadata: { parts: 'three' },
    });
    expect(await store.stat('big/buffer')).toMatchObject({
      size: body.length,
      contentType: 'application/octet-stream',
      metadata: { parts: 'three' },
    });
    expect(sha256(await readAll(await store.getObject('big/buffer')))).toBe(sha256(body));
    expect(sha256(await store.getBuffer('big/buffer'))).toBe(sha256(body));
    expect(
      (await store.getRange('big/buffer', 5 * MiB - 2, 4)).equals(body.subarray(5 * MiB - 2, 5 * MiB + 2)),
    ).toBe(true);
  });

  it('leaves no object behind when the source fails half-way through a multipart upload', async () => {
    async function* failingSource(): AsyncIterable<Buffer> {
      for (let i = 0; i < 12; i += 1) yield Buffer.alloc(MiB, i); // two full 5 MiB parts go up first
      throw new Error('microphone unplugged');
    }
    await expect(store.putStream('aborted/object', failingSource())).rejects.toThrow('microphone unplugged');
    expect(await store.stat('aborted/object')).toBeNull();
    expect(await collect(store.list('aborted/'))).toEqual([]);
  });

  it('hands out presigned GET URLs that plain fetch can use, and only for that object', async () => {
    await store.putObject('shared/link.txt', Buffer.from('via presigned url'));
    const url = await store.presignedGetUrl('shared/link.txt', 60);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('via presigned url');

    const tampered = url.replace('shared/link.txt', 'shared/other.txt');
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('creates its bucket once and answers ping', async () => {
    const empty = await s3ForTests({ createBucket: false });
    try {
      const fresh = createObjectStore(empty.config);
      await expect(fresh.ping()).rejects.toMatchObject({ name: 'StorageError', retryable: false });
      await fresh.ensureBucket();
      await fresh.ensureBucket();
      await expect(fresh.ping()).resolves.toBeUndefined();
      await fresh.putObject('k', Buffer.from('v'));
      expect(await fresh.stat('k')).toMatchObject({ size: 1 });
    } finally {
      await empty.stop();
    }
  });

  it('accepts part sizes only between the S3 minimum and the minio-js single-PUT limit', () => {
    expect(() => createObjectStore({ ...s3.config, partSizeBytes: 4 * MiB })).toThrow(RangeError);
    expect(() => createObjectStore({ ...s3.config, partSizeBytes: 65 * MiB })).toThrow(RangeError);
    expect(createObjectStore({ ...s3.config, partSizeBytes: 64 * MiB }).bucket).toBe(s3.config.bucket);
  });

  it('classifies an unreachable store as retryable and bad credentials as not', async () => {
    const unreachable = createObjectStore({
      ...s3.config,
      endpoint: `http://127.0.0.1:${await closedPort()}`,
    });
    await expect(unreachable.ping()).rejects.toMatchObject({
      name: 'StorageError',
      retryable: true,
      code: 'ECONNREFUSED',
    });

    const wrongSecret = createObjectStore({ ...s3.config, secretKey: 'not-the-secret' });
    const error = await wrongSecret.putObject('k', Buffer.from('v')).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'StorageError', retryable: false, code: 'SignatureDoesNotMatch' });
  });
});
