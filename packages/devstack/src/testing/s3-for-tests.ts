import { Client } from 'minio';
import { EmbeddedServerError } from '../errors.js';
import { startEmbeddedS3 } from '../s3/embedded-s3.js';
import { uniqueName } from './unique-name.js';

/** Same shape as @calltx/storage's ObjectStoreConfig. */
export interface S3TestConfig {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
}

export interface S3ForTests {
  config: S3TestConfig;
  /** Removes the bucket and everything in it (or stops the embedded server). */
  stop(): Promise<void>;
}

const EMBEDDED_ACCESS_KEY = 'calltx-test';
const EMBEDDED_SECRET_KEY = 'calltx-test-secret';

export interface S3ForTestsOptions {
  /** false: only pick the bucket's name, for tests of bucket creation (stop() still removes it). */
  createBucket?: boolean;
}

/**
 * A fresh, empty bucket: on the S3/MinIO at $S3_ENDPOINT (with $S3_ACCESS_KEY, $S3_SECRET_KEY, $S3_REGION)
 * when set, else on an embedded s3rver started for this call.
 */
export async function s3ForTests(options: S3ForTestsOptions = {}): Promise<S3ForTests> {
  const createBucket = options.createBucket ?? true;
  const bucket = uniqueName('test');
  const endpoint = process.env.S3_ENDPOINT;
  if (!endpoint) {
    const s3 = await startEmbeddedS3({
      accessKey: EMBEDDED_ACCESS_KEY,
      secretKey: EMBEDDED_SECRET_KEY,
      bucket: createBucket ? bucket : undefined,
    });
    const config = {
      endpoint: s3.endpoint,
      region: s3.region,
      accessKey: EMBEDDED_ACCESS_KEY,
      secretKey: EMBEDDED_SECRET_KEY,
      bucket,
    };
    return { config, stop: s3.stop };
  }

  const accessKey = process.env.S3_ACCESS_KEY;
  const secretKey = process.env.S3_SECRET_KEY;
  if (!accessKey || !secretKey) {
    throw new EmbeddedServerError('S3_ENDPOINT is set, so S3_ACCESS_KEY and S3_SECRET_KEY must be set too');
  }
  const config = { endpoint, region: process.env.S3_REGION || 'us-east-1', accessKey, secretKey, bucket };
  const client = minioClient(config);
  if (createBucket) await client.makeBucket(bucket, config.region);
  let stopping: Promise<void> | undefined;
  return { config, stop: () => (stopping ??= removeBucketWithContents(client, bucket)) };
}

function minioClient(config: S3TestConfig): Client {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
}

async function removeBucketWithContents(client: Client, bucket: string): Promise<void> {
  if (!(await client.bucketExists(bucket))) return;
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true)) if (item.name) names.push(item.name);
  for (let i = 0; i < names.length; i += 1000) await client.removeObjects(bucket, names.slice(i, i + 1000));
  for (const key of await incompleteUploadKeys(client, bucket))
    await client.removeIncompleteUpload(bucket, key);
  await client.removeBucket(bucket);
}

/** Keys with unfinished multipart uploads; none on servers without ListMultipartUploads (s3rver). */
async function incompleteUploadKeys(client: Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const upload of client.listIncompleteUploads(bucket, '', true)) keys.push(upload.key);
  } catch (error) {
    if ((error as { code?: string }).code !== 'NotImplemented') throw error;
  }
  return keys;
}
