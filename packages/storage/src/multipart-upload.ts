import type { Client } from 'minio';
import type { BufferPool } from './buffer-pool.js';
import { StorageError } from './storage-error.js';

/** A Readable (any encoding) or any async iterable of bytes. */
export type UploadSource = AsyncIterable<Buffer | Uint8Array | string>;

export interface UploadResult {
  etag: string;
  size: number;
}

/**
 * An object being written piece by piece. `write` copies the bytes before it resolves, so the caller may reuse
 * or drop its buffer at once; it waits only when the store is behind. One write at a time; nothing is visible
 * under the key until `end` resolves.
 */
export interface ObjectUpload {
  readonly key: string;
  write(bytes: Uint8Array): Promise<void>;
  /** Sends what is left and makes the object visible. */
  end(): Promise<UploadResult>;
  /**
   * Abandons the upload: a waiting or later `write`/`end` rejects with `reason`, and the multipart upload, if
   * one was started, is aborted (best effort; resolves when that was tried).
   */
  abort(reason: Error): Promise<void>;
}

export interface UploadTarget {
  client: Client;
  bucket: string;
  key: string;
  headers: Record<string, string>;
  /** Bytes per part (and the largest object sent as a single PUT). */
  partSize: number;
  /** Bytes taken while a part is in flight, before `write` waits for it; at most `partSize`. */
  aheadBytes: number;
  /** Where the upload's buffer (`partSize + aheadBytes`) comes from and goes back to. */
  buffers: BufferPool;
}

/**
 * Uploads an object of unknown length in constant memory: one buffer of `partSize + aheadBytes`. Writes fill
 * the first `partSize` bytes; a full part is sent while later writes go on into the `aheadBytes` behind it,
 * which move to the front when the part is acknowledged. An object that ends within one part goes up as a
 * single PUT; a longer one as an explicit multipart upload (initiate, parts in order, complete).
 *
 * Copying at once, rather than queueing the caller's buffers, keeps garbage young: see buffer-pool.ts for why
 * long-lived dead buffers cost RSS. The buffer goes back to the pool only once no request reads it any more.
 *
 * Why not `client.putObject(stream)`: for a stream without a known size, minio-js looks for an upload to
 * resume with ListMultipartUploads, which s3rver does not implement (NotImplemented, observed with
 * @20minutes/s3rver 4.0.4 for a 10 MiB stream already). See README.md.
 */
export class MultipartUpload implements ObjectUpload {
  readonly key: string;
  readonly #target: UploadTarget;
  readonly #buffer: Buffer;
  #filled = 0;
  #size = 0;
  /** The part at the front of the buffer being sent; writes beyond it go to the ahead space meanwhile. */
  #sending: Promise<void> | undefined;
  #uploadId: Promise<string> | undefined;
  readonly #etags: Array<{ part: number; etag: string }> = [];
  /** Store requests that read the buffer and have not settled. */
  #reading = 0;
  /** Ended or failed: the buffer goes back to the pool once nothing reads it. */
  #done = false;
  #released = false;
  #failure: Error | undefined;
  #aborted: Promise<void> | undefined;
  readonly #failed: Promise<never>;
  #fail: (reason: Error) => void = () => undefined;

  constructor(target: UploadTarget) {
    this.key = target.key;
    this.#target = target;
    this.#buffer = target.buffers.take();
    this.#failed = new Promise<never>((_, reject) => (this.#fail = reject));
    this.#failed.catch(() => undefined);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const { partSize } = this.#target;
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#done) throw this.#failure ?? new Error(`write after end of upload ${this.key}`);
      const room = (this.#sending ? this.#buffer.length : partSize) - this.#filled;
      if (room === 0) {
        if (this.#sending) await this.#untilSent();
        else this.#sendFront();
        continue;
      }
      const n = Math.min(room, bytes.length - offset);
      this.#buffer.set(bytes.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      this.#size += n;
      offset += n;
      if (!this.#sending && this.#filled === partSize) this.#sendFront();
    }
  }

  async end(): Promise<UploadResult> {
    const { client, bucket, key, headers } = this.#target;
    try {
      if (this.#done) throw this.#failure ?? new Error(`upload ${key} ended twice`);
      while (this.#sending) await this.#untilSent();
      let etag: string;
      if (!this.#uploadId) {
        const body = this.#buffer.subarray(0, this.#filled);
        ({ etag } = await this.#unlessFailed(
          this.#read(client.putObject(bucket, key, body, body.length, headers)),
        ));
      } else {
        if (this.#filled > 0) {
          this.#sendFront();
          await this.#untilSent();
        }
        const uploadId = await this.#unlessFailed(this.#uploadId);
        ({ etag } = await this.#unlessFailed(
          client.completeMultipartUpload(bucket, key, uploadId, this.#etags),
        ));
      }
      this.#finish();
      return { etag, size: this.#size };
    } catch (error) {
      const failure = this.#failure ?? new StorageError('putStream', key, error);
      // Not awaited: the store may be what failed, and the failure is what the caller needs now.
      void this.abort(failure);
      throw failure;
    }
  }

  abort(reason: Error): Promise<void> {
    if (!this.#failure) {
      this.#failure = reason;
      this.#fail(reason);
    }
    this.#finish();
    this.#aborted ??= this.#abortMultipart();
    return this.#aborted;
  }

  async #abortMultipart(): Promise<void> {
    const uploadId = await this.#uploadId?.catch(() => undefined);
    if (uploadId === undefined) return;
    const { client, bucket, key } = this.#target;
    // Best effort: the error that matters is the original one. (s3rver answers MethodNotAllowed here; its
    // orphaned parts stay invisible and go away with its directory.)
    await client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
  }

  /** Waits for the part in flight; rejects as soon as the upload fails or is aborted. */
  async #untilSent(): Promise<void> {
    if (this.#sending) await this.#unlessFailed(this.#sending);
  }

  #unlessFailed<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.#failed]);
  }

  /** Sends the front part (up to `partSize` bytes); when it is acknowledged, the ahead bytes move to the front. */
  #sendFront(): void {
    const { client, bucket, key, headers, partSize } = this.#target;
    const length = Math.min(this.#filled, partSize);
    this.#uploadId ??= client.initiateNewMultipartUpload(bucket, key, headers);
    const partNumber = this.#etags.length + 1;
    this.#sending = this.#uploadId
      .then((uploadID) => {
        // Aborted while the upload was being initiated: the buffer may be back in the pool already.
        if (this.#done) throw this.#failure;
        return this.#read(
          client.uploadPart(
            { bucketName: bucket, objectName: key, uploadID, partNumber, headers: {} },
            this.#buffer.subarray(0, length),
          ),
        );
      })
      .then(
        ({ etag }) => {
          this.#sending = undefined;
          if (this.#done) return; // aborted meanwhile: the buffer may be back in the pool
          this.#etags.push({ part: partNumber, etag });
          this.#buffer.copyWithin(0, length, this.#filled);
          this.#filled -= length;
        },
        (error: unknown) => {
          this.#sending = undefined;
          void this.abort(this.#failure ?? new StorageError('putStream', key, error));
        },
      );
  }

  /** Counts a request that reads the buffer until it settles. */
  #read<T>(request: Promise<T>): Promise<T> {
    this.#reading += 1;
    const settled = (): void => {
      this.#reading -= 1;
      this.#release();
    };
    request.then(settled, settled);
    return request;
  }

  #finish(): void {
    this.#done = true;
    this.#release();
  }

  #release(): void {
    if (!this.#done || this.#reading > 0 || this.#released) return;
    this.#released = true;
    this.#target.buffers.give(this.#buffer);
  }
}

/** Uploads a whole stream through a {@link MultipartUpload}; aborted (nothing visible) if the source fails. */
export async function uploadStream(
  target: UploadTarget,
  source: UploadSource | Iterable<Buffer>,
): Promise<UploadResult> {
  const upload = new MultipartUpload(target);
  try {
    for await (const chunk of source)
      await upload.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return await upload.end();
  } catch (error) {
    void upload.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}
