/**
 * The audio of the open utterance. Grows by doubling up to `maxSamples` and is reused across utterances,
 * so an idle stream holds at most one buffer of the longest utterance it has seen.
 */
export class UtteranceAudio {
  private buffer = new Int16Array(0);
  private used = 0;

  constructor(private readonly maxSamples: number) {}

  get length(): number {
    return this.used;
  }

  /** Space for `count` more samples; returns the buffer and the offset to write them at. */
  reserve(count: number): { buffer: Int16Array; offset: number } {
    const needed = this.used + count;
    if (needed > this.maxSamples) {
      throw new RangeError(
        `utterance would hold ${needed} samples, more than its maximum ${this.maxSamples}`,
      );
    }
    if (needed > this.buffer.length) {
      const grown = new Int16Array(
        Math.min(this.maxSamples, Math.max(needed, this.buffer.length * 2, 32_000)),
      );
      grown.set(this.buffer.subarray(0, this.used));
      this.buffer = grown;
    }
    const offset = this.used;
    this.used = needed;
    return { buffer: this.buffer, offset };
  }

  append(samples: Int16Array): void {
    const { buffer, offset } = this.reserve(samples.length);
    buffer.set(samples, offset);
  }

  /** A copy of the first `count` samples: events outlive the buffer's reuse. */
  copyFirst(count: number): Int16Array {
    return this.buffer.slice(0, count);
  }

  /** Forgets the first `count` samples (an utterance split keeps only its second part). */
  dropFirst(count: number): void {
    this.buffer.copyWithin(0, count, this.used);
    this.used -= count;
  }

  clear(): void {
    this.used = 0;
  }
}
