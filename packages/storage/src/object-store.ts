import type { Readable } from 'node:stream';
import { Client } from 'minio';
import {
  MultipartUpload,
  uploadStream,
  type ObjectUpload,
  type UploadResult,
  type UploadSource,
  type UploadTarget,
} from './multipart-upload.js';
import { BufferPool } from './buffer-pool.js';
import { StorageError } from './storage-error.js';

export interface ObjectStoreConfig {
  /** e.g. http://127.0.0.1:9000 or https://minio.example.internal */
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /**
   * Part size of streamed uploads, 5–64 MiB (S3's minimum part; minio-js's single-PUT limit, above which it
   * would call ListMultipartUploads). Default 8 MiB; an upload holds one part in memory.
   */
  partSizeBytes?: number;
  /** Bytes an upload keeps taking while a part is in flight (0 to partSizeBytes). Default 1 MiB. */
  aheadBytes?: number;
  /** Upload buffers (part + ahead bytes each) kept for the next uploads instead of dropped. Default 4. */
  keptUploadBuffers?: number;
  /** Asked for on every upload (the single PUT, or the multipart upload's initiate). */
  serverSideEncryption?: ServerSideEncryption;
}

/** SSE-S3 (`AES256`), or SSE-KMS with the store's default key or the given one. */
export type ServerSideEncryption = { algorithm: 'AES256' } | { algorithm: 'aws:kms'; kmsKeyId?: string };

export interface PutOptions {
  contentType?: string;
  /** User metadata (x-amz-meta-*). Keys come back lower-cased from stat(). */
  metadata?: Record<string, string>;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

export interface ObjectListing {
  key: string;
  size: number;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Creates the bucket if it does not exist yet. */
  ensureBucket(): Promise<void>;
  putObject(key: string, body: Buffer, options?: PutOptions): Promise<{ etag: string }>;
  /** Uploads a stream of any length in constant memory; nothing is visible under `key` unless it all arrived. */
  putStream(key: string, body: Readable | UploadSource, options?: PutOptions): Promise<UploadResult>;
  /** An upload written piece by piece, in constant memory (one part plus `aheadBytes`). */
  openUpload(key: string, options?: PutOptions): ObjectUpload;
  getObject(key: string): Promise<Readable>;
  /** The whole object in memory: for objects known to be small. */
  getBuffer(key: string): Promise<Buffer>;
  /** `length` bytes from `offset` (fewer at the end of the object). */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** null when there is no such object. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Removing a missing object is not an error. */
  remove(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectListing>;
  presignedGetUrl(key: string, expirySeconds: number): Promise<string>;
  /** Resolves when the store answers and the bucket exists (readiness probe); else throws StorageError. */
  ping(): Promise<void>;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_AHEAD_BYTES = 1024 * 1024;
const DEFAULT_KEPT_UPLOAD_BUFFERS = 4;
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 64 * 1024 * 1024;
/** Headers that statObject reports beside the user metadata. */
const STANDARD_HEADERS = new Set([
  'content-type',
  'cache-control',
  'content-encoding',
  'content-disposition',
  'content-language',
  'expires',
]);

/** A service's store settings from its S3_* variables (docs/configuration.md). */
export function objectStoreConfig(config: {
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
  S3_BUCKET: string;
  S3_SSE?: string | undefined;
}): ObjectStoreConfig {
  const sse = config.S3_SSE;
  return {
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    bucket: config.S3_BUCKET,
    ...(sse === undefined
      ? {}
      : {
          serverSideEncryption:
            sse === 'AES256' || sse === 'aws:kms'
              ? { algorithm: sse }
              : { algorithm: 'aws:kms', kmsKeyId: sse },
        }),
  };
}

export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  const partSize = config.partSizeBytes ?? DEFAULT_PART_SIZE;
  if (!(partSize >= MIN_PART_SIZE && partSize <= MAX_PART_SIZE)) {
    throw new RangeError(`partSizeBytes must be between ${MIN_PART_SIZE} and ${MAX_PART_SIZE}`);
  }
  const { bucket } = config;
  const client = createClient(config);
  const aheadBytes = config.aheadBytes ?? DEFAULT_AHEAD_BYTES;
  if (!(Number.isInteger(aheadBytes) && aheadBytes >= 0 && aheadBytes <= partSize)) {
    throw new RangeError(`aheadBytes must be an integer between 0 and partSizeBytes (${partSize})`);
  }
  const buffers = new BufferPool(
    partSize + aheadBytes,
    config.keptUploadBuffers ?? DEFAULT_KEPT_UPLOAD_BUFFERS,
  );
  const headersFor = (options: PutOptions = {}): Record<string, string> => ({
    ...encryptionHeaders(config.serverSideEncryption),
    ...contentHeaders(options),
  });
  const target = (key: string, options?: PutOptions): UploadTarget => ({
    client,
    bucket,
    key,
    headers: headersFor(options),
    partSize,
    aheadBytes,
    buffers,
  });

  /** Runs a client call, turning whatever it throws into a StorageError. */
  const attempt = async <T>(
    operation: string,
    key: string | undefined,
    call: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw error instanceof StorageError ? error : new StorageError(operation, key, error);
    }
  };

  return {
    bucket,

    ensureBucket: () =>
      attempt('ensureBucket', undefined, async () => {
        if (await client.bucketExists(bucket)) return;
        try {
          await client.makeBucket(bucket, config.region);
        } catch (error) {
          // Another replica created it first.
          const code = (error as { code?: string }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
        }
      }),

    putObject: (key, body, options) =>
      attempt('putObject', key, async () => {
        // minio-js itself switches to multipart (and ListMultipartUploads) above its 64 MiB part size.
        if (body.length > partSize) return uploadStream(target(key, options), [body]);
        const { etag } = await client.putObject(bucket, key, body, body.length, headersFor(options));
        return { etag };
      }),

    putStream: (key, body, options) =>
      attempt('putStream', key, () => uploadStream(target(key, options), body)),

    openUpload: (key, options) => new MultipartUpload(target(key, options)),

    getObject: (key) => attempt('getObject', key, () => client.getObject(bucket, key)),

    getBuffer: (key) => attempt('getBuffer', key, async () => concat(await client.getObject(bucket, key))),

    getRange: (key, offset, length) =>
      attempt('getRange', key, async () => {
        if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0) {
          throw new RangeError(`invalid range: offset ${offset}, length ${length}`);
        }
        // minio-js reads to the end of the object when length is 0.
        if (length === 0) return Buffer.alloc(0);
        return concat(await client.getPartialObject(bucket, key, offset, length));
      }),

    stat: (key) =>
      attempt('stat', key, async () => {
        try {
          const stat = await client.statObject(bucket, key);
          return {
            size: stat.size,
            etag: stat.etag,
            contentType: stat.metaData['content-type'] as string | undefined,
            metadata: userMetadata(stat.metaData),
          };
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === 'NotFound' || code === 'NoSuchKey') return null;
          throw error;
        }
      }),

    remove: (key) => attempt('remove', key, () => client.removeObject(bucket, key)),

    list: (prefix) => listObjects(client, bucket, prefix),

    presignedGetUrl: (key, expirySeconds) =>
      attempt('presignedGetUrl', key, () => client.presignedGetObject(bucket, key, expirySeconds)),

    ping: () =>
      attempt('ping', undefined, async () => {
        if (!(await client.bucketExists(bucket))) {
          throw new StorageError(
            'ping',
            undefined,
            { code: 'NoSuchBucket' },
            `bucket "${bucket}" does not exist`,
          );
        }
      }),
  };
}

/** The minio client as every store uses it (path-style, region known so it never asks for it). */
export function createClient(config: Omit<ObjectStoreConfig, 'bucket'>): Client {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    // Known region: minio-js then never asks the server for the bucket's location.
    region: config.region,
    pathStyle: true,
  });
}

async function concat(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function encryptionHeaders(sse: ServerSideEncryption | undefined): Record<string, string> {
  if (sse === undefined) return {};
  const headers: Record<string, string> = { 'x-amz-server-side-encryption': sse.algorithm };
  if (sse.algorithm === 'aws:kms' && sse.kmsKeyId !== undefined) {
    headers['x-amz-server-side-encryption-aws-kms-key-id'] = sse.kmsKeyId;
  }
  return headers;
}

function contentHeaders(options: PutOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.contentType) headers['Content-Type'] = options.contentType;
  for (const [name, value] of Object.entries(options.metadata ?? {})) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

function userMetadata(metaData: Record<string, unknown>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(metaData)) {
    const lower = name.toLowerCase();
    if (!STANDARD_HEADERS.has(lower) && !lower.startsWith('x-amz-')) metadata[lower] = String(value);
  }
  return metadata;
}

async function* listObjects(client: Client, bucket: string, prefix: string): AsyncIterable<ObjectListing> {
  try {
    for await (const item of client.listObjectsV2(bucket, prefix, true)) {
      if (item.name !== undefined) yield { key: item.name, size: item.size };
    }
  } catch (error) {
    throw new StorageError('list', prefix, error);
  }
}
