import { HALF_BAND_KAISER_BETA, HALF_BAND_TAPS_PER_SIDE, designHalfBand } from './halfband.js';

const K = HALF_BAND_TAPS_PER_SIDE;
const COEFFS = designHalfBand(K, HALF_BAND_KAISER_BETA);
/** Input samples kept between calls: the window of one output pair is 2K samples. */
const HISTORY = 2 * K - 1;
/** Inputs per pass through the shared scratch buffer; bounds memory for huge inputs. */
const BLOCK = 4096;

/**
 * One scratch buffer for all instances: `process` is synchronous, so no two calls overlap, and
 * per-call state stays at the HISTORY samples (the ingest service holds one upsampler per call).
 */
const scratch = new Float64Array(HISTORY + BLOCK);

function toInt16(acc: number): number {
  if (acc >= 32767) return 32767;
  if (acc <= -32768) return -32768;
  return ((acc + 32768.5) | 0) - 32768; // round half up, cheaper than Math.round
}

/**
 * Writes `pairs` output pairs; pair p is centred on w[start + p + K - 1] (the input sample it
 * passes through) and interpolates between it and the next one.
 *
 * Four outputs per pass share a sliding register window over the input, which roughly halves
 * the loads of the plain loop. The tail uses the same summation order, so the result of an
 * output never depends on where block or chunk boundaries fall.
 */
function interpolate(
  w: Float64Array,
  start: number,
  pairs: number,
  out: Int16Array,
  outOffset: number,
): void {
  const g = COEFFS;
  let p = 0;
  for (; p + 4 <= pairs; p += 4) {
    let lo = start + p + K - 1;
    let hi = lo + 4;
    let l0 = w[lo]!,
      l1 = w[lo + 1]!,
      l2 = w[lo + 2]!,
      l3 = w[lo + 3]!;
    let h0 = w[hi - 3]!,
      h1 = w[hi - 2]!,
      h2 = w[hi - 1]!,
      h3 = w[hi]!;
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0;
    for (let i = 0; ;) {
      const gi = g[i]!;
      a0 += gi * (l0 + h0);
      a1 += gi * (l1 + h1);
      a2 += gi * (l2 + h2);
      a3 += gi * (l3 + h3);
      if (++i === K) break;
      l3 = l2;
      l2 = l1;
      l1 = l0;
      l0 = w[--lo]!;
      h0 = h1;
      h1 = h2;
      h2 = h3;
      h3 = w[++hi]!;
    }
    const o = outOffset + 2 * p;
    const c = start + p + K - 1;
    out[o] = w[c]!;
    out[o + 1] = toInt16(a0);
    out[o + 2] = w[c + 1]!;
    out[o + 3] = toInt16(a1);
    out[o + 4] = w[c + 2]!;
    out[o + 5] = toInt16(a2);
    out[o + 6] = w[c + 3]!;
    out[o + 7] = toInt16(a3);
  }
  for (; p < pairs; p++) {
    const c = start + p + K - 1;
    let acc = 0;
    for (let i = 0; i < K; i++) acc += g[i]! * (w[c - i]! + w[c + 1 + i]!);
    out[outOffset + 2 * p] = w[c]!;
    out[outOffset + 2 * p + 1] = toInt16(acc);
  }
}

/**
 * Streaming 2x upsampler for 16-bit PCM (8 kHz -> 16 kHz), half-band FIR, linear phase.
 *
 * Output sample 2n is input sample n (unchanged) and 2n + 1 lies halfway to input n + 1.
 * Interpolating needs K input samples of lookahead, so the first K inputs produce no output;
 * `flush()` emits the rest, after which the stream has produced exactly 2x its input length and
 * the upsampler is ready for a new stream. Any split of the input into chunks gives bit-identical
 * output.
 */
export class Upsampler2x {
  /** The last HISTORY input samples (zeros before the stream starts). */
  readonly #history = new Int16Array(HISTORY);
  /** Input samples still to be taken in before the first output pair can be computed. */
  #lookaheadPending = K;

  /** Output samples the next `process(input)` call yields for an input of this length. */
  outputLength(inputLength: number): number {
    return 2 * Math.max(0, inputLength - this.#lookaheadPending);
  }

  /**
   * Upsamples the next chunk. Pass `out` (at least `outputLength(input.length)` long, never
   * more than 2 * input.length) to reuse a buffer; the result is then a view of it.
   */
  process(input: Int16Array, out?: Int16Array): Int16Array {
    const outLength = this.outputLength(input.length);
    let result: Int16Array;
    if (out === undefined) result = new Int16Array(outLength);
    else if (out.length < outLength)
      throw new RangeError(`output buffer holds ${out.length} samples, ${outLength} needed`);
    else result = out.length === outLength ? out : out.subarray(0, outLength);

    let written = 0;
    for (let from = 0; from < input.length; from += BLOCK) {
      written += this.#processBlock(input, from, Math.min(from + BLOCK, input.length), result, written);
    }
    return result;
  }

  /** Runs input[from..to) through the scratch buffer; returns the output samples written. */
  #processBlock(input: Int16Array, from: number, to: number, out: Int16Array, outOffset: number): number {
    // Plain loops rather than set(subarray(..)): no view allocations on the 20 ms frame path.
    const history = this.#history;
    const length = to - from;
    for (let i = 0; i < HISTORY; i++) scratch[i] = history[i]!;
    for (let i = 0; i < length; i++) scratch[HISTORY + i] = input[from + i]!;
    const pending = this.#lookaheadPending;
    const pairs = Math.max(0, length - pending);
    interpolate(scratch, Math.min(pending, length), pairs, out, outOffset);
    this.#lookaheadPending = Math.max(0, pending - length);
    for (let i = 0; i < HISTORY; i++) history[i] = scratch[length + i]!;
    return 2 * pairs;
  }

  /** Ends the stream: emits the output still held back for lookahead and resets the state. */
  flush(): Int16Array {
    const tail = this.process(new Int16Array(K));
    this.#history.fill(0);
    this.#lookaheadPending = K;
    return tail;
  }
}
