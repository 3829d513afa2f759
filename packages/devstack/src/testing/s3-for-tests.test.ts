import { Client } from 'minio';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedS3 } from '../s3/embedded-s3.js';
import { s3ForTests, type S3TestConfig } from './s3-for-tests.js';

function client(config: S3TestConfig): Client {
  const url = new URL(config.endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
}

describe('s3ForTests', () => {
  it('gives an empty bucket of its own and takes it away on stop', async () => {
    const [a, b] = await Promise.all([s3ForTests(), s3ForTests()]);
    expect(a.config.bucket).not.toBe(b.config.bucket);
    const s3 = client(a.config);
    expect(await s3.bucketExists(a.config.bucket)).toBe(true);
    await s3.putObject(a.config.bucket, 'some/key', Buffer.from('data'));
    await Promise.all([a.stop(), b.stop()]);
    if (process.env.S3_ENDPOINT) {
      expect(await s3.bucketExists(a.config.bucket)).toBe(false);
    } else {
      await expect(s3.bucketExists(a.config.bucket)).rejects.toThrow(/ECONNREFUSED/);
    }
  });
});

describe('s3ForTests with S3_ENDPOINT set', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_REGION']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('creates the bucket on that server and removes it with its contents', async () => {
    const server = await startEmbeddedS3({
      accessKey: 'ext-key',
      secretKey: 'ext-secret',
      bucket: 'unrelated',
    });
    try {
      Object.assign(process.env, {
        S3_ENDPOINT: server.endpoint,
        S3_ACCESS_KEY: 'ext-key',
        S3_SECRET_KEY: 'ext-secret',
      });
      delete process.env.S3_REGION;
      const s3 = await s3ForTests();
      expect(s3.config).toMatchObject({
        endpoint: server.endpoint,
        region: 'us-east-1',
        accessKey: 'ext-key',
      });
      const direct = client(s3.config);
      await direct.putObject(s3.config.bucket, 'a/1', Buffer.from('1'));
      await direct.putObject(s3.config.bucket, 'b', Buffer.from('2'));
      await s3.stop();
      expect(await direct.bucketExists(s3.config.bucket)).toBe(false);
      expect(await direct.bucketExists('unrelated')).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('refuses an endpoint without credentials', async () => {
    Object.assign(process.env, { S3_ENDPOINT: 'http://127.0.0.1:1' });
    delete process.env.S3_ACCESS_KEY;
    await expect(s3ForTests()).rejects.toThrow(/S3_ACCESS_KEY and S3_SECRET_KEY/);
  });
});
