import { ComplexFft } from './fft.js';
import { slaneyMelFilters, type MelFilter } from './mel-filters.js';

export const SAMPLE_RATE = 16_000;
export const N_FFT = 400;
export const HOP_LENGTH = 160;
export const CHUNK_SECONDS = 30;
export const CHUNK_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE;
/** Frames in one 30 s window (the STFT's last, padding-only frame is dropped, as Whisper does). */
export const N_FRAMES = CHUNK_SAMPLES / HOP_LENGTH;

const N_BINS = N_FFT / 2 + 1;
const PAD = N_FFT / 2;
const LOG_OF_CLAMP = -10; // log10(1e-10): the value of every all-zero frame

// Shared, reused across calls: logMel is synchronous, so nothing can interleave with a call.
const fft = new ComplexFft(N_FFT);
const hann = Float64Array.from({ length: N_FFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT));
const padded = new Float64Array(CHUNK_SAMPLES + 2 * PAD);
const frameRe = new Float64Array(N_FFT);
const frameIm = new Float64Array(N_FFT);
const specRe = new Float64Array(N_FFT);
const specIm = new Float64Array(N_FFT);
const powerA = new Float64Array(N_BINS);
const powerB = new Float64Array(N_BINS);
const filterCache = new Map<number, MelFilter[]>();

function filtersFor(nMels: number): MelFilter[] {
  let filters = filterCache.get(nMels);
  if (!filters) {
    filters = slaneyMelFilters(nMels, N_FFT, SAMPLE_RATE);
    filterCache.set(nMels, filters);
  }
  return filters;
}

/**
 * Whisper's log-mel front end for one 30 s window: `samples16k` (mono, 16 kHz, [-1, 1]) is zero-padded or
 * trimmed to 30 s; STFT (n_fft 400, hop 160, periodic Hann, centred with reflect padding); power spectrum;
 * Slaney mel filters; log10 clamped at 1e-10; floored at (max - 8); scaled as (x + 4) / 4.
 * Returns [nMels, 3000] row-major, written into `out` when given.
 */
export function logMel(samples16k: Float32Array, out?: Float32Array, nMels = 80): Float32Array {
  const size = nMels * N_FRAMES;
  if (out && out.length !== size)
    throw new RangeError(`out must hold ${nMels} x ${N_FRAMES} = ${size} values, got ${out.length}`);
  const result = out ?? new Float32Array(size);
  const filters = filtersFor(nMels);

  const n = Math.min(samples16k.length, CHUNK_SAMPLES);
  padded.fill(0);
  for (let i = 0; i < n; i++) padded[PAD + i] = samples16k[i]!;
  for (let j = 1; j <= PAD; j++) {
    padded[PAD - j] = padded[PAD + j]!;
    padded[PAD + CHUNK_SAMPLES - 1 + j] = padded[PAD + CHUNK_SAMPLES - 1 - j]!;
  }

  // Frames whose window lies entirely in the zero padding need no FFT: their value is the clamp.
  const lastSample = n < CHUNK_SAMPLES - PAD ? PAD + n - 1 : padded.length - 1;
  const activeFrames = Math.min(N_FRAMES, Math.floor(lastSample / HOP_LENGTH) + 1);
  let max = activeFrames < N_FRAMES ? LOG_OF_CLAMP : -Infinity;

  // Two real frames per complex FFT: frame a in the real part, frame b in the imaginary part.
  for (let a = 0; a < activeFrames; a += 2) {
    const b = a + 1;
    const hasB = b < activeFrames;
    for (let i = 0; i < N_FFT; i++) {
      frameRe[i] = padded[a * HOP_LENGTH + i]! * hann[i]!;
      frameIm[i] = hasB ? padded[b * HOP_LENGTH + i]! * hann[i]! : 0;
    }
    fft.transform(frameRe, frameIm, specRe, specIm);
    for (let k = 0; k < N_BINS; k++) {
      const mk = k === 0 ? 0 : N_FFT - k;
      // A[k] = (Z[k] + conj(Z[N-k])) / 2, B[k] = (Z[k] - conj(Z[N-k])) / 2i
      const zr = specRe[k]!;
      const zi = specIm[k]!;
      const cr = specRe[mk]!;
      const ci = -specIm[mk]!;
      const ar = (zr + cr) / 2;
      const ai = (zi + ci) / 2;
      const br = (zi - ci) / 2;
      const bi = -(zr - cr) / 2;
      powerA[k] = ar * ar + ai * ai;
      powerB[k] = br * br + bi * bi;
    }
    max = Math.max(max, melColumn(powerA, filters, result, a));
    if (hasB) max = Math.max(max, melColumn(powerB, filters, result, b));
  }
  for (let m = 0; m < nMels; m++) result.fill(LOG_OF_CLAMP, m * N_FRAMES + activeFrames, (m + 1) * N_FRAMES);

  const floor = max - 8;
  for (let i = 0; i < size; i++) result[i] = (Math.max(result[i]!, floor) + 4) / 4;
  return result;
}

/** Writes log10(mel energy) of one frame into column `frame`; returns the column's maximum. */
function melColumn(power: Float64Array, filters: MelFilter[], out: Float32Array, frame: number): number {
  let max = -Infinity;
  for (let m = 0; m < filters.length; m++) {
    const { start, weights } = filters[m]!;
    let energy = 0;
    for (let j = 0; j < weights.length; j++) energy += weights[j]! * power[start + j]!;
    const value = Math.log10(Math.max(energy, 1e-10));
    out[m * N_FRAMES + frame] = value;
    if (value > max) max = value;
  }
  return max;
}
