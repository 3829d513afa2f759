import { Readable } from 'node:stream';
import { s3ForTests, startRecordingProxy, type RecordingProxy, type S3ForTests } from '@calltx/devstack';
import { loadConfig } from '@calltx/config';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createObjectStore, objectStoreConfig, type ObjectStore } from './object-store.js';
import { STORAGE_VARIABLES } from './variables.js';

const MiB = 1024 * 1024;
const SSE = 'x-amz-server-side-encryption';
const KMS_KEY = 'x-amz-server-side-encryption-aws-kms-key-id';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The store as a service builds it from its variables, talking to s3rver through the recording proxy. */
function storeWith(s3: S3ForTests, proxy: RecordingProxy, sse: string | undefined): ObjectStore {
  const config = loadConfig(STORAGE_VARIABLES, {
    S3_ENDPOINT: proxy.endpoint,
    S3_REGION: s3.config.region,
    S3_ACCESS_KEY: s3.config.accessKey,
    S3_SECRET_KEY: s3.config.secretKey,
    S3_BUCKET: s3.config.bucket,
    S3_SSE: sse,
  });
  return createObjectStore({ ...objectStoreConfig(config), partSizeBytes: 5 * MiB });
}

/** Every upload a store can make: single PUT, streamed multipart (initiate, parts, complete), piecewise. */
async function uploadEveryWay(store: ObjectStore, prefix: string): Promise<void> {
  await store.putObject(`${prefix}/small`, Buffer.from('hello'), { contentType: 'text/plain' });
  await store.putStream(`${prefix}/large`, Readable.from([Buffer.alloc(11 * MiB, 7)]));
  const upload = store.openUpload(`${prefix}/piecewise`);
  await upload.write(Buffer.from('piece'));
  await upload.end();
}

const isUploadPart = (url: string) => /[?&]partNumber=/.test(url);
const isComplete = (method: string, url: string) => method === 'POST' && /[?&]uploadId=/.test(url);
/** Requests that create an object or a multipart upload: where S3 takes the encryption headers. */
const creating = (proxy: RecordingProxy) =>
  proxy.requests.filter(
    (r) =>
      (r.method === 'PUT' && !isUploadPart(r.url)) || (r.method === 'POST' && /[?&]uploads\b/.test(r.url)),
  );

describe('server-side encryption (S3_SSE)', () => {
  let s3: S3ForTests;
  let proxy: RecordingProxy;

  beforeAll(async () => {
    s3 = await s3ForTests();
    proxy = await startRecordingProxy(s3.config.endpoint);
  });
  afterAll(async () => {
    await proxy.stop();
    await s3.stop();
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });

  it('AES256: every upload asks for SSE-S3, on the PUT or the multipart initiate, and nothing else does', async () => {
    const store = storeWith(s3, proxy, 'AES256');
    await uploadEveryWay(store, 'aes');

    const uploads = creating(proxy);
    // small and piecewise as single PUTs, large as initiate (POST ?uploads)
    expect(uploads.map((r) => r.method).sort()).toEqual(['POST', 'PUT', 'PUT']);
    for (const r of uploads) {
      expect(r.headers[SSE]).toBe('AES256');
      expect(r.headers[KMS_KEY]).toBeUndefined();
    }
    // S3 refuses these headers on UploadPart and CompleteMultipartUpload: only SSE-C keys go there.
    const parts = proxy.requests.filter((r) => isUploadPart(r.url) || isComplete(r.method, r.url));
    expect(parts.filter((r) => isUploadPart(r.url))).toHaveLength(3);
    for (const r of parts) expect(r.headers[SSE]).toBeUndefined();
    expect((await store.getBuffer('aes/small')).toString()).toBe('hello');
    expect((await store.stat('aes/large'))?.size).toBe(11 * MiB);
  });

  it('a KMS key id: every upload asks for SSE-KMS with that key', async () => {
    const store = storeWith(s3, proxy, KEY_ARN);
    await uploadEveryWay(store, 'kms');

    const uploads = creating(proxy);
    expect(uploads).toHaveLength(3);
    for (const r of uploads) {
      expect(r.headers[SSE]).toBe('aws:kms');
      expect(r.headers[KMS_KEY]).toBe(KEY_ARN);
    }
  });

  it('aws:kms alone: SSE-KMS with the default key; unset: no encryption header at all', async () => {
    await storeWith(s3, proxy, 'aws:kms').putObject('default-key', Buffer.from('x'));
    expect(creating(proxy).map((r) => [r.headers[SSE], r.headers[KMS_KEY]])).toEqual([
      ['aws:kms', undefined],
    ]);

    proxy.requests.length = 0;
    await uploadEveryWay(storeWith(s3, proxy, undefined), 'plain');
    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(proxy.requests.filter((r) => r.headers[SSE] !== undefined)).toEqual([]);
  });

  it('refuses a value that is not an algorithm or a key id', () => {
    expect(() => loadConfig({ S3_SSE: STORAGE_VARIABLES.S3_SSE }, { S3_SSE: 'AES 256' })).toThrow(/S3_SSE/);
  });
});
