/** The last `capacity` samples of a stream: the audio padded in front of an utterance when speech starts. */
export class PreRoll {
  private readonly ring: Int16Array;
  /** Index the next sample is written at. */
  private head = 0;
  private filled = 0;

  constructor(readonly capacity: number) {
    this.ring = new Int16Array(capacity);
  }

  /** Samples held (fewer than capacity near the start of a stream). */
  get length(): number {
    return this.filled;
  }

  push(samples: Int16Array): void {
    const { capacity } = this;
    if (capacity === 0) return;
    const tail = samples.length > capacity ? samples.subarray(samples.length - capacity) : samples;
    const first = Math.min(tail.length, capacity - this.head);
    this.ring.set(tail.subarray(0, first), this.head);
    this.ring.set(tail.subarray(first), 0);
    this.head = (this.head + tail.length) % capacity;
    this.filled = Math.min(capacity, this.filled + tail.length);
  }

  /** The same as pushing `count` zero samples. */
  pushSilence(count: number): void {
    if (count >= this.capacity) {
      this.ring.fill(0);
      this.head = 0;
      this.filled = this.capacity;
      return;
    }
    const first = Math.min(count, this.capacity - this.head);
    this.ring.fill(0, this.head, this.head + first);
    this.ring.fill(0, 0, count - first);
    this.head = (this.head + count) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + count);
  }

  /** Copies the newest `count` samples (count ≤ length) into `target` at `offset`, oldest first. */
  copyNewest(count: number, target: Int16Array, offset: number): void {
    if (count > this.filled)
      throw new RangeError(`pre-roll holds ${this.filled} samples, asked for ${count}`);
    const start = (this.head - count + this.capacity) % this.capacity;
    const first = Math.min(count, this.capacity - start);
    target.set(this.ring.subarray(start, start + first), offset);
    target.set(this.ring.subarray(0, count - first), offset + first);
  }

  clear(): void {
    this.head = 0;
    this.filled = 0;
  }
}
