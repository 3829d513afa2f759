import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { describe, expect, it } from 'vitest';
import { startEmbeddedS3 } from './embedded-s3.js';

function clientFor(endpoint: string, accessKey: string, secretKey: string): Client {
  const url = new URL(endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey,
    secretKey,
    region: 'us-east-1',
    pathStyle: true,
  });
}

describe('startEmbeddedS3', () => {
  it('serves the bucket to correctly signed requests only', async () => {
    const s3 = await startEmbeddedS3({
      accessKey: 'devstack-key',
      secretKey: 'devstack-secret',
      bucket: 'devstack-bucket',
    });
    try {
      const client = clientFor(s3.endpoint, 'devstack-key', 'devstack-secret');
      expect(await client.bucketExists('devstack-bucket')).toBe(true);
      await client.putObject('devstack-bucket', 'a/b.txt', Buffer.from('hello'));
      const chunks: Buffer[] = [];
      for await (const chunk of await client.getObject('devstack-bucket', 'a/b.txt'))
        chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('hello');

      const wrongSecret = clientFor(s3.endpoint, 'devstack-key', 'not-the-secret');
      await expect(wrongSecret.putObject('devstack-bucket', 'c', Buffer.from('c'))).rejects.toMatchObject({
        code: 'SignatureDoesNotMatch',
      });
      const unknownKey = clientFor(s3.endpoint, 'nobody', 'devstack-secret');
      await expect(unknownKey.putObject('devstack-bucket', 'x', Buffer.from('x'))).rejects.toMatchObject({
        code: 'InvalidAccessKeyId',
      });
    } finally {
      await s3.stop();
    }
    await expect(fetch(`${s3.endpoint}/devstack-bucket`)).rejects.toThrow();
  });

  it('stores objects in the given directory and removes only a directory it created', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-test-'));
    try {
      const s3 = await startEmbeddedS3({ dir, accessKey: 'k2', secretKey: 's2', bucket: 'kept' });
      await clientFor(s3.endpoint, 'k2', 's2').putObject('kept', 'x', Buffer.from('x'));
      await s3.stop();
      expect(await readdir(dir)).toContain('kept');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const own = await startEmbeddedS3({ accessKey: 'k3', secretKey: 's3', bucket: 'temp' });
    expect(existsSync(join(own.dir, 'temp'))).toBe(true);
    await own.stop();
    expect(existsSync(own.dir)).toBe(false);
  });
});
