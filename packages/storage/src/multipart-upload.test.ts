import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { s3ForTests, type S3ForTests } from '@calltx/devstack';
import type { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';
import { MultipartUpload, type UploadTarget } from './multipart-upload.js';
import { createClient, createObjectStore } from './object-store.js';
import { StorageError } from './storage-error.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const AHEAD = 256 * 1024;

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('MultipartUpload', () => {
  let s3: S3ForTests;
  let client: Client;

  beforeAll(async () => {
    s3 = await s3ForTests();
    client = createClient(s3.config);
  });
  afterAll(async () => {
    await s3.stop();
  });

  const target = (key: string, buffers: BufferPool, over: Partial<UploadTarget> = {}): UploadTarget => ({
    client,
    bucket: s3.config.bucket,
    key,
    headers: { 'Content-Type': 'audio/wav' },
    partSize: PART,
    aheadBytes: AHEAD,
    buffers,
    ...over,
  });

  it('copies each write at once: one buffer refilled by the caller after every write makes a correct object', async () => {
    const buffers = new BufferPool(PART + AHEAD, 1);
    const upload = new MultipartUpload(target('reused/caller-buffer', buffers));
    const scratch = Buffer.alloc(300_001); // odd size: writes straddle part and ahead boundaries
    const expected = createHash('sha256');
    let total = 0;
    for (let round = 0; total < 3 * PART + 12_345; round += 1) {
      scratch.fill(round & 0xff);
      scratch.writeUInt32LE(round, 0);
      expected.update(scratch);
      total += scratch.length;
      await upload.write(scratch);
    }
    const result = await upload.end();
    expect(result.size).toBe(total);
    expect(await sha256Of(await client.getObject(s3.config.bucket, 'reused/caller-buffer'))).toBe(
      expected.digest('hex'),
    );
    expect((await client.statObject(s3.config.bucket, 'reused/caller-buffer')).metaData['content-type']).toBe(
      'audio/wav',
    );
  });

  it('sends an object within one part as a single PUT and gives its buffer back for the next upload', async () => {
    const buffers = new BufferPool(PART + AHEAD, 1);
    const first = new MultipartUpload(target('pool/first', buffers));
    await first.write(Buffer.from('RIFF'));
    expect(buffers.idle).toBe(0);
    expect(await first.end()).toMatchObject({ size: 4 });
    expect(buffers.idle).toBe(1);

    const second = new MultipartUpload(target('pool/second', buffers));
    expect(buffers.idle).toBe(0); // took the same buffer
    await second.write(Buffer.alloc(PART + 1, 7)); // exactly one part and a byte: multipart
    await second.end();
    expect(buffers.idle).toBe(1);
    expect((await client.statObject(s3.config.bucket, 'pool/second')).size).toBe(PART + 1);
  });

  it('rejects a write waiting on a stalled part as soon as it is aborted; the buffer returns only once the part request ends', async () => {
    // A proxy to the real store that stops forwarding a request body after 1 MiB: the part upload hangs mid-body.
    const upstream = new URL(s3.config.endpoint);
    const held: Socket[] = [];
    const stalling = createServer((incoming) => {
      held.push(incoming);
      const outgoing = connect(Number(upstream.port), upstream.hostname);
      held.push(outgoing.on('error', () => undefined));
      let forwarded = 0;
      incoming
        .on('error', () => undefined)
        .on('data', (data: Buffer) => {
          forwarded += data.length;
          if (forwarded > MiB) incoming.pause();
          else outgoing.write(data);
        });
      outgoing.pipe(incoming);
    });
    stalling.listen(0, '127.0.0.1');
    await once(stalling, 'listening');
    try {
      const proxied = createClient({
        ...s3.config,
        endpoint: `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`,
      });
      const buffers = new BufferPool(PART + AHEAD, 1);
      const upload = new MultipartUpload(target('stalled/object', buffers, { client: proxied }));
      const blocked = upload.write(Buffer.alloc(PART + AHEAD + 1)); // part in flight, ahead space full
      const reason = new Error('no progress for 300 ms');
      setTimeout(() => void upload.abort(reason), 300);
      await expect(blocked).rejects.toBe(reason);
      await expect(upload.write(Buffer.from('x'))).rejects.toBe(reason);
      await expect(upload.end()).rejects.toBe(reason);
      expect(buffers.idle).toBe(0); // the part request still reads it

      for (const socket of held) socket.destroy();
      await expect.poll(() => buffers.idle).toBe(1);
      expect(await createObjectStore(s3.config).stat('stalled/object')).toBeNull();
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('fails with a StorageError when the store refuses a part, and leaves no object', async () => {
    const store = createObjectStore({ ...s3.config, secretKey: 'not-the-secret', partSizeBytes: PART });
    const upload = store.openUpload('refused/object');
    const error = await upload
      .write(Buffer.alloc(2 * PART + AHEAD))
      .then(() => upload.end())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'SignatureDoesNotMatch', retryable: false });
    expect(await createObjectStore(s3.config).stat('refused/object')).toBeNull();
  });
});
