import { createHash } from 'node:crypto';
import type { ObjectStore, ObjectUpload, UploadResult } from '@calltx/storage';

/**
 * One object being uploaded as it is written, hashed and counted on the way. The store copies each write at
 * once (one part plus a little ahead space per upload), so callers may hand in buffers they reuse.
 */
export class UploadSink {
  readonly #upload: ObjectUpload;
  readonly #hash = createHash('sha256');
  bytes = 0;

  constructor(store: ObjectStore, key: string) {
    this.#upload = store.openUpload(key, { contentType: 'audio/wav' });
  }

  get key(): string {
    return this.#upload.key;
  }

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.#hash.update(bytes);
    this.bytes += bytes.length;
    await this.#upload.write(bytes);
  }

  /** Ends the data; the object becomes visible when this resolves. */
  end(): Promise<UploadResult> {
    return this.#upload.end();
  }

  /** Abandons the upload: a waiting write or end rejects with `reason`, and no object appears. */
  fail(reason: Error): void {
    void this.#upload.abort(reason);
  }

  sha256(): string {
    return this.#hash.digest('hex');
  }
}
