import { describe, expect, it } from 'vitest';
import { HALF_BAND_KAISER_BETA, HALF_BAND_TAPS_PER_SIDE, designHalfBand } from './halfband.js';
import { measureUpsamplerResponse, upsampleWhole } from './response.js';
import { Upsampler2x } from './upsampler.js';

const K = HALF_BAND_TAPS_PER_SIDE;

/** Deterministic speech-like test signal: a few drifting partials plus noise, peaking near full scale. */
function testSignal(length: number, seed = 1): Int16Array {
  let state = seed;
  const noise = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  return Int16Array.from({ length }, (_, n) => {
    const t = n / 8000;
    const v =
      12000 * Math.sin(2 * Math.PI * (180 + 40 * Math.sin(3 * t)) * t) +
      9000 * Math.sin(2 * Math.PI * 1370 * t) +
      6000 * Math.sin(2 * Math.PI * 3310 * t) +
      8000 * noise();
    return Math.max(-32768, Math.min(32767, Math.round(v)));
  });
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function upsampleInChunks(input: Int16Array, chunkSizes: number[]): Int16Array {
  const upsampler = new Upsampler2x();
  const parts: Int16Array[] = [];
  let offset = 0;
  for (let i = 0; offset < input.length; i++) {
    const size = chunkSizes[i % chunkSizes.length]!;
    parts.push(upsampler.process(input.subarray(offset, offset + size)));
    offset += size;
  }
  parts.push(upsampler.flush());
  return concat(parts);
}

describe('Upsampler2x frequency response', () => {
  const response = measureUpsamplerResponse();

  it('is flat within +-0.1 dB over the telephone band', () => {
    expect(response.points.length).toBeGreaterThan(30);
    expect(response.passbandDeviationDb).toBeLessThan(0.1);
  });

  it('rejects the images at 8000 - f by at least 80 dB (design margin: 120 dB)', () => {
    expect(response.minImageRejectionDb).toBeGreaterThan(80);
    expect(response.minImageRejectionDb).toBeGreaterThan(120);
  });

  it('measures a deliberately poor upsampler as poor', () => {
    // Sample-and-hold: images only ~-20 dB down at low f, droop of ~2.1 dB at 3.4 kHz.
    const hold = (x: Int16Array) => Int16Array.from({ length: 2 * x.length }, (_, i) => x[i >> 1]!);
    const poor = measureUpsamplerResponse(hold);
    expect(poor.minImageRejectionDb).toBeLessThan(20);
    expect(poor.passbandDeviationDb).toBeGreaterThan(2);
  });
});

describe('Upsampler2x streaming', () => {
  const signal = testSignal(20_000);

  it('gives bit-identical output for any chunk split', () => {
    const whole = upsampleInChunks(signal, [signal.length]);
    for (const sizes of [
      [1],
      [160],
      [7, 0, 1, 63, 64, 65],
      [K - 1, K, K + 1],
      [4095, 4097, 9000],
      [3, 5000, 2],
    ]) {
      const chunked = upsampleInChunks(signal, sizes);
      expect(chunked.length).toBe(whole.length);
      const firstDifference = chunked.findIndex((v, i) => v !== whole[i]);
      expect({ sizes, firstDifference }).toEqual({ sizes, firstDifference: -1 });
    }
  });

  it('outputs exactly twice the input length after flush, for short and long streams', () => {
    for (const length of [0, 1, 5, K - 1, K, K + 1, 160, 4096, 4097, 10_000]) {
      expect(upsampleWhole(signal.subarray(0, length)).length).toBe(2 * length);
    }
  });

  it('holds back exactly the lookahead until flush', () => {
    const upsampler = new Upsampler2x();
    expect(upsampler.process(signal.subarray(0, K - 1)).length).toBe(0);
    expect(upsampler.process(signal.subarray(K - 1, K + 9)).length).toBe(2 * 9);
    expect(upsampler.flush().length).toBe(2 * K);
  });

  it('aligns output 2n with input n (passed through unchanged)', () => {
    const output = upsampleWhole(signal);
    const misaligned = signal.findIndex((x, n) => output[2 * n] !== x);
    expect(misaligned).toBe(-1);
  });

  it('puts output 2n + 1 halfway between inputs n and n + 1', () => {
    const f = 1000;
    const amplitude = 16000;
    const tone = Int16Array.from({ length: 4000 }, (_, n) =>
      Math.round(amplitude * Math.sin((2 * Math.PI * f * n) / 8000)),
    );
    const output = upsampleWhole(tone);
    let worst = 0;
    for (let n = 200; n < 3800; n++) {
      const expected = amplitude * Math.sin((2 * Math.PI * f * (n + 0.5)) / 8000);
      worst = Math.max(worst, Math.abs(output[2 * n + 1]! - expected));
    }
    // A half-sample timing error would be off by up to ~6000 here; rounding allows ~1.
    expect(worst).toBeLessThan(2);
  });

  it('matches a direct convolution with the zero-stuffed input', () => {
    const input = signal.subarray(0, 3000);
    const g = designHalfBand(K, HALF_BAND_KAISER_BETA);
    const taps = new Float64Array(4 * K - 1); // full half-band filter, centre at 2K - 1
    taps[2 * K - 1] = 1;
    g.forEach((c, i) => {
      taps[2 * K - 2 - 2 * i] = c;
      taps[2 * K + 2 * i] = c;
    });
    const delay = 2 * K - 1;
    const output = upsampleWhole(input);
    let worst = 0;
    for (let m = 0; m < output.length; m++) {
      let acc = 0;
      for (let t = 0; t < taps.length; t++) {
        const j = m + delay - t; // index into the zero-stuffed input
        if (j >= 0 && j % 2 === 0 && j / 2 < input.length) acc += taps[t]! * input[j / 2]!;
      }
      const expected = Math.max(-32768, Math.min(32767, Math.round(acc)));
      worst = Math.max(worst, Math.abs(output[m]! - expected));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('clamps overshoot instead of wrapping around', () => {
    const square = Int16Array.from({ length: 800 }, (_, n) => (Math.floor(n / 20) % 2 ? -32768 : 32767));
    const output = upsampleWhole(square);
    // Gibbs overshoot next to each edge exceeds full scale; a wrapped value would flip sign.
    for (let n = 40; n < 760; n++) {
      const left = square[n]!;
      const right = square[n + 1]!;
      if (left === right) expect(Math.sign(output[2 * n + 1]!)).toBe(Math.sign(left));
    }
    expect(output.includes(32767)).toBe(true);
    expect(output.includes(-32768)).toBe(true);
  });

  it('starts a fresh stream after flush', () => {
    const upsampler = new Upsampler2x();
    const first = concat([upsampler.process(signal), upsampler.flush()]);
    const second = concat([upsampler.process(signal), upsampler.flush()]);
    expect(second).toEqual(first);
  });

  it('writes into a caller-owned buffer and rejects a short one', () => {
    const upsampler = new Upsampler2x();
    const out = new Int16Array(2 * 500);
    const result = upsampler.process(signal.subarray(0, 500), out);
    expect(result.buffer).toBe(out.buffer);
    expect(result.length).toBe(2 * (500 - K));
    expect(upsampler.outputLength(160)).toBe(320);
    expect(() => upsampler.process(signal.subarray(500, 660), new Int16Array(319))).toThrow(RangeError);
  });
});
