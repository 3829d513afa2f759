import { WavFormatError } from './errors.js';

const FRAME_BYTES = 4; // left int16 + right int16

/**
 * Splits interleaved 16-bit stereo PCM into two mono streams, chunk by chunk. Chunks may end
 * anywhere, even mid-sample; the up to 3 bytes of an incomplete frame are carried to the next
 * chunk, so memory stays constant whatever the stream length.
 *
 * The channels come back in the splitter's own space, reused by the next `push`: a long recording then makes
 * no garbage per chunk (each would outlive young-generation collections while it waits, and raise peak RSS).
 */
export class StereoSplitter {
  readonly #carry = Buffer.alloc(FRAME_BYTES);
  #carried = 0;
  #ended = false;
  #left = Buffer.alloc(0);
  #right = Buffer.alloc(0);

  /** Bytes of an incomplete frame held until the next chunk. */
  get leftoverBytes(): number {
    return this.#carried;
  }

  /** The two channels of `chunk` (plus any carried frame); valid until the next `push`, copy them to keep them. */
  push(chunk: Buffer): { left: Buffer; right: Buffer } {
    if (this.#ended) throw new Error('StereoSplitter.push after end()');
    const frames = Math.floor((this.#carried + chunk.length) / FRAME_BYTES);
    if (this.#left.length < frames * 2) {
      this.#left = Buffer.allocUnsafe(frames * 2);
      this.#right = Buffer.allocUnsafe(frames * 2);
    }
    const left = this.#left.subarray(0, frames * 2);
    const right = this.#right.subarray(0, frames * 2);
    let frame = 0;
    let i = 0; // next unread byte of chunk

    if (this.#carried > 0) {
      const fill = Math.min(FRAME_BYTES - this.#carried, chunk.length);
      chunk.copy(this.#carry, this.#carried, 0, fill);
      this.#carried += fill;
      i = fill;
      if (this.#carried < FRAME_BYTES) return { left, right };
      const c = this.#carry;
      left[0] = c[0]!;
      left[1] = c[1]!;
      right[0] = c[2]!;
      right[1] = c[3]!;
      frame = 1;
      this.#carried = 0;
    }

    for (let o = frame * 2; frame < frames; frame++, o += 2, i += FRAME_BYTES) {
      left[o] = chunk[i]!;
      left[o + 1] = chunk[i + 1]!;
      right[o] = chunk[i + 2]!;
      right[o + 1] = chunk[i + 3]!;
    }

    this.#carried = chunk.length - i;
    chunk.copy(this.#carry, 0, i);
    return { left, right };
  }

  /** Ends the stream; throws {@link WavFormatError} ('truncated') if it stopped mid-frame. */
  end(): void {
    this.#ended = true;
    if (this.#carried > 0) {
      throw new WavFormatError(
        'truncated',
        `stereo PCM ended mid-frame: ${this.#carried} leftover byte(s) of a ${FRAME_BYTES}-byte frame dropped`,
      );
    }
  }
}
