/**
 * Mixed-radix complex FFT (decimation in time) for sizes whose prime factors are 2, 3 and 5.
 *
 * Hand-written because Whisper's STFT size is 400 = 2^4 * 5^2: the well-kept npm FFTs (fft.js, ml-fft)
 * only do powers of two, and the ones that accept 400 are unmaintained Emscripten/WASM ports.
 * A plan holds the twiddles and scratch, so repeated transforms allocate nothing.
 */
export class ComplexFft {
  private readonly factors: number[] = [];
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;

  constructor(readonly size: number) {
    let n = size;
    for (const p of [4, 2, 3, 5]) {
      while (n % p === 0) {
        this.factors.push(p);
        n /= p;
      }
    }
    if (n !== 1 || size < 1) throw new RangeError(`FFT size ${size} must factor into 2, 3 and 5`);
    this.twRe = new Float64Array(size);
    this.twIm = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const phase = (-2 * Math.PI * i) / size;
      this.twRe[i] = Math.cos(phase);
      this.twIm[i] = Math.sin(phase);
    }
    const maxRadix = Math.max(1, ...this.factors);
    this.scratchRe = new Float64Array(maxRadix);
    this.scratchIm = new Float64Array(maxRadix);
  }

  /** out = DFT(in), X[k] = sum_n x[n] e^{-2 pi i k n / N}. Input and output must not alias. */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.work(outRe, outIm, 0, inRe, inIm, 0, 1, 0);
  }

  private work(
    outRe: Float64Array,
    outIm: Float64Array,
    outOffset: number,
    inRe: Float64Array,
    inIm: Float64Array,
    inOffset: number,
    stride: number,
    level: number,
  ): void {
    const p = this.factors[level] ?? 1;
    const m = this.size / (stride * p);
    if (m === 1) {
      for (let j = 0; j < p; j++) {
        outRe[outOffset + j] = inRe[inOffset + j * stride]!;
        outIm[outOffset + j] = inIm[inOffset + j * stride]!;
      }
    } else {
      for (let j = 0; j < p; j++) {
        this.work(outRe, outIm, outOffset + j * m, inRe, inIm, inOffset + j * stride, stride * p, level + 1);
      }
    }
    this.butterfly(outRe, outIm, outOffset, stride, p, m);
  }

  /** Combines p interleaved sub-transforms of length m into one of length p*m. */
  private butterfly(
    re: Float64Array,
    im: Float64Array,
    offset: number,
    stride: number,
    p: number,
    m: number,
  ): void {
    const { twRe, twIm, scratchRe, scratchIm, size } = this;
    for (let u = 0; u < m; u++) {
      // Twiddle the q-th sub-transform's u-th bin (by e^{-2 pi i q u / (p m)}) before the size-p DFT.
      const step = stride * u;
      let t = 0;
      for (let q = 0; q < p; q++) {
        const k = offset + u + q * m;
        const a = re[k]!;
        const b = im[k]!;
        scratchRe[q] = a * twRe[t]! - b * twIm[t]!;
        scratchIm[q] = a * twIm[t]! + b * twRe[t]!;
        t += step;
        if (t >= size) t -= size;
      }
      if (p === 4) {
        // Closed-form size-4 DFT: multiplying by -i is a swap and a sign change.
        const s0r = scratchRe[0]! + scratchRe[2]!;
        const s0i = scratchIm[0]! + scratchIm[2]!;
        const s1r = scratchRe[0]! - scratchRe[2]!;
        const s1i = scratchIm[0]! - scratchIm[2]!;
        const s2r = scratchRe[1]! + scratchRe[3]!;
        const s2i = scratchIm[1]! + scratchIm[3]!;
        const s3r = scratchRe[1]! - scratchRe[3]!;
        const s3i = scratchIm[1]! - scratchIm[3]!;
        const k = offset + u;
        re[k] = s0r + s2r;
        im[k] = s0i + s2i;
        re[k + m] = s1r + s3i;
        im[k + m] = s1i - s3r;
        re[k + 2 * m] = s0r - s2r;
        im[k + 2 * m] = s0i - s2i;
        re[k + 3 * m] = s1r - s3i;
        im[k + 3 * m] = s1i + s3r;
        continue;
      }
      for (let q1 = 0; q1 < p; q1++) {
        let sumRe = 0;
        let sumIm = 0;
        const rootStep = stride * m * q1; // e^{-2 pi i q q1 / p} == tw[stride * m * q * q1]
        let r = 0;
        for (let q = 0; q < p; q++) {
          const xr = scratchRe[q]!;
          const xi = scratchIm[q]!;
          sumRe += xr * twRe[r]! - xi * twIm[r]!;
          sumIm += xr * twIm[r]! + xi * twRe[r]!;
          r += rootStep;
          if (r >= size) r -= size;
        }
        re[offset + u + q1 * m] = sumRe;
        im[offset + u + q1 * m] = sumIm;
      }
    }
  }
}
