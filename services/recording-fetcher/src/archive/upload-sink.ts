import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ObjectStore, UploadResult } from '@calltx/shared';

/**
 * One object being uploaded as it is written: bytes are hashed and counted on the way to `putStream`. Up to
 * `aheadBytes` wait in a queue, so writing goes on for a while when the store is slow to take a part
 * (putStream uploads one part at a time and reads nothing meanwhile); beyond that, `write` waits.
 */
export class UploadSink {
  readonly #stream: PassThrough;
  readonly #hash = createHash('sha256');
  readonly upload: Promise<UploadResult>;
  /** Rejects when the sink is failed: unblocks a writer waiting on a store that stopped answering. */
  readonly #failed: Promise<never>;
  #fail: (reason: Error) => void = () => undefined;
  bytes = 0;

  constructor(
    store: ObjectStore,
    readonly key: string,
    aheadBytes: number,
  ) {
    this.#stream = new PassThrough({ highWaterMark: aheadBytes });
    this.upload = store.putStream(key, this.#stream, { contentType: 'audio/wav' });
    this.#failed = new Promise<never>((_, reject) => (this.#fail = reject));
    // Awaited by the owner; these keep an early failure from being reported as unhandled meanwhile.
    this.upload.catch(() => undefined);
    this.#failed.catch(() => undefined);
  }

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.#hash.update(bytes);
    this.bytes += bytes.length;
    if (this.#stream.write(bytes)) return;
    // An upload that fails stops reading: without the race a full queue would wait for 'drain' forever.
    await Promise.race([
      once(this.#stream, 'drain'),
      this.upload.then(() => {
        throw new Error(`upload of ${this.key} finished before its data did`);
      }),
      this.#failed,
    ]);
  }

  /** Ends the data; the upload completes (and becomes visible) after this. */
  end(): Promise<UploadResult> {
    this.#stream.end();
    return Promise.race([this.upload, this.#failed]);
  }

  /** Abandons the upload: putStream aborts its multipart upload, so no object appears. */
  fail(reason: Error): void {
    this.#stream.destroy(reason);
    this.#fail(reason);
  }

  sha256(): string {
    return this.#hash.digest('hex');
  }
}
