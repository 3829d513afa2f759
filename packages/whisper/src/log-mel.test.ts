import { beforeAll, describe, expect, it } from 'vitest';
import { ComplexFft } from './fft.js';
import { logMel, N_FRAMES } from './log-mel.js';
import { slaneyMelFilters } from './mel-filters.js';
import { loadReference, readReferenceLogMel, readReferencePcm, type Reference } from './testing/reference.js';

/** Largest |ours - reference| the front end may show, on Whisper's (x + 4) / 4 scale. */
const LOG_MEL_TOLERANCE = 1e-5;

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < n; t++) {
      const phase = (-2 * Math.PI * ((k * t) % n)) / n;
      outRe[k]! += re[t]! * Math.cos(phase) - im[t]! * Math.sin(phase);
      outIm[k]! += re[t]! * Math.sin(phase) + im[t]! * Math.cos(phase);
    }
  }
  return [outRe, outIm];
}

describe('ComplexFft', () => {
  it.each([400, 1, 2, 8, 15, 30, 120])('matches a direct DFT for size %i', (size) => {
    let seed = size;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const re = Float64Array.from({ length: size }, random);
    const im = Float64Array.from({ length: size }, random);
    const [expectRe, expectIm] = naiveDft(re, im);
    const outRe = new Float64Array(size);
    const outIm = new Float64Array(size);
    new ComplexFft(size).transform(re, im, outRe, outIm);
    for (let k = 0; k < size; k++) {
      expect(Math.abs(outRe[k]! - expectRe[k]!)).toBeLessThan(1e-9);
      expect(Math.abs(outIm[k]! - expectIm[k]!)).toBeLessThan(1e-9);
    }
  });

  it('refuses sizes with prime factors above 5', () => {
    expect(() => new ComplexFft(14)).toThrow(RangeError);
  });
});

describe('logMel', () => {
  let ref: Reference;
  beforeAll(async () => {
    ref = await loadReference();
  });

  it('builds the same Slaney filterbank as the reference', () => {
    const filters = slaneyMelFilters(ref.melFilters.nMels, 400, 16_000);
    let sum = 0;
    for (const f of filters) for (const w of f.weights) sum += w;
    expect(sum).toBeCloseTo(ref.melFilters.sum, 9);
    const row10 = new Float64Array(201);
    row10.set(filters[10]!.weights, filters[10]!.start);
    ref.melFilters.row10.forEach((w, bin) => expect(Math.abs(row10[bin]! - w)).toBeLessThan(1e-12));
  });

  it(`matches the PyTorch reference within ${LOG_MEL_TOLERANCE} for every clip`, async () => {
    for (const audio of ref.audios) {
      const samples = await readReferencePcm(audio);
      const expected = await readReferenceLogMel(audio);
      const mel = logMel(samples);
      expect(mel.length).toBe(80 * N_FRAMES);
      let maxDiff = 0;
      let sum = 0;
      for (let m = 0; m < 80; m++) {
        for (let t = 0; t < N_FRAMES; t++) {
          const value = mel[m * N_FRAMES + t]!;
          const want = t < audio.signalFrames ? expected[m * audio.signalFrames + t]! : audio.tail.min;
          maxDiff = Math.max(maxDiff, Math.abs(value - want));
          sum += value;
        }
      }
      expect(maxDiff, audio.name).toBeLessThanOrEqual(LOG_MEL_TOLERANCE);
      expect(sum / mel.length).toBeCloseTo(audio.stats.mean, 5);
    }
  });

  it('fills a caller-owned buffer completely, so reusing it leaves nothing behind', async () => {
    const chirp = await readReferencePcm(ref.audios.find((a) => a.name === 'chirp-3s')!);
    const buffer = new Float32Array(80 * N_FRAMES);
    expect(logMel(chirp, buffer)).toBe(buffer);
    logMel(new Float32Array(16_000), buffer);
    expect(buffer.every((v) => v === -1.5)).toBe(true); // silence: log10(1e-10) = -10 -> (-10 + 4) / 4
  });

  it('supports 128-mel models and checks the buffer size', async () => {
    const chirp = await readReferencePcm(ref.audios.find((a) => a.name === 'chirp-3s')!);
    expect(logMel(chirp, undefined, 128).length).toBe(128 * N_FRAMES);
    expect(() => logMel(chirp, new Float32Array(80 * N_FRAMES), 128)).toThrow(RangeError);
  });

  it('uses only the first 30 s of longer input', async () => {
    const chirp = await readReferencePcm(ref.audios.find((a) => a.name === 'chirp-3s')!);
    const long = new Float32Array(45 * 16_000);
    for (let i = 0; i < long.length; i++) long[i] = chirp[i % chirp.length]!;
    const expected = logMel(long.subarray(0, 30 * 16_000));
    expect(logMel(long)).toEqual(expected);
  });
});
