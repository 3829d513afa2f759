/**
 * Upload buffers kept for reuse, up to `maxIdle` of them. A buffer allocated per upload and dropped after it
 * lives long enough to reach V8's old generation, where it is freed only by a full collection, and external
 * memory triggers one only after tens of MiB of growth: in bench:fetcher, dead upload buffers raised peak RSS
 * by that much (docs/benchmarks.md). Reused buffers never die.
 */
export class BufferPool {
  readonly #idle: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    readonly maxIdle: number,
  ) {}

  take(): Buffer {
    return this.#idle.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.bufferBytes && this.#idle.length < this.maxIdle) this.#idle.push(buffer);
  }

  get idle(): number {
    return this.#idle.length;
  }
}
