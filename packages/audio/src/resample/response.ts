import { Upsampler2x } from './upsampler.js';

/** Upsamples a whole 8 kHz 16-bit signal to 16 kHz (the output must be twice as long and aligned). */
export type UpsampleFn = (input: Int16Array) => Int16Array;

export interface ResponsePoint {
  frequencyHz: number;
  /** Output level of the tone relative to the input level. */
  gainDb: number;
  /** How far below the tone its image at 8000 - f lies. */
  imageRejectionDb: number;
}

export interface UpsamplerResponse {
  /** Largest |gain| over the passband points: the "flat within +-x dB" figure. */
  passbandDeviationDb: number;
  /** Peak-to-peak gain variation over the passband points. */
  passbandRippleDb: number;
  minImageRejectionDb: number;
  points: ResponsePoint[];
}

const INPUT_RATE = 8000;
const OUTPUT_RATE = 16000;
const TONE_AMPLITUDE = 16384; // -6 dBFS: room for filter overshoot
const TONE_SECONDS = 2;
/** Output samples skipped at each end so the filter's start-up and tail are not measured. */
const EDGE = 512;

/**
 * 97.3 Hz .. 3397.3 Hz in 100 Hz steps: offset from round numbers so the int16 rounding error is not
 * periodic with the tone: a periodic error concentrates into spurs that can land exactly on the
 * image frequency and would be measured as leakage.
 */
export const RESPONSE_FREQUENCIES_HZ: readonly number[] = Array.from(
  { length: 34 },
  (_, i) => 100 * (i + 1) - 2.7,
);

export const upsampleWhole: UpsampleFn = (input) => {
  const upsampler = new Upsampler2x();
  const head = upsampler.process(input);
  const tail = upsampler.flush();
  const output = new Int16Array(head.length + tail.length);
  output.set(head);
  output.set(tail, head.length);
  return output;
};

/** Amplitude of the component at `frequencyHz`, by a Hann-windowed single-bin DFT. */
function toneAmplitude(
  signal: Int16Array,
  from: number,
  to: number,
  frequencyHz: number,
  sampleRate: number,
): number {
  const n = to - from;
  const omega = (2 * Math.PI * frequencyHz) / sampleRate;
  let re = 0;
  let im = 0;
  let windowSum = 0;
  for (let i = 0; i < n; i++) {
    const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const v = window * signal[from + i]!;
    re += v * Math.cos(omega * i);
    im += v * Math.sin(omega * i);
    windowSum += window;
  }
  return (2 * Math.hypot(re, im)) / windowSum;
}

/**
 * Measures an upsampler with test tones: passband gain at each frequency and the level of its
 * image at 8000 - f, both on the real int16 output. Defaults to {@link Upsampler2x}; the
 * benchmark passes sox to measure it the same way.
 */
export function measureUpsamplerResponse(
  upsample: UpsampleFn = upsampleWhole,
  frequenciesHz: readonly number[] = RESPONSE_FREQUENCIES_HZ,
): UpsamplerResponse {
  const length = INPUT_RATE * TONE_SECONDS;
  const points = frequenciesHz.map((frequencyHz): ResponsePoint => {
    const tone = Int16Array.from({ length }, (_, n) =>
      Math.round(TONE_AMPLITUDE * Math.sin((2 * Math.PI * frequencyHz * n) / INPUT_RATE)),
    );
    const output = upsample(tone);
    if (output.length !== 2 * length) {
      throw new Error(
        `upsampler returned ${output.length} samples for ${length} inputs, expected ${2 * length}`,
      );
    }
    const inputLevel = toneAmplitude(tone, EDGE / 2, length - EDGE / 2, frequencyHz, INPUT_RATE);
    const toneLevel = toneAmplitude(output, EDGE, output.length - EDGE, frequencyHz, OUTPUT_RATE);
    const imageLevel = toneAmplitude(
      output,
      EDGE,
      output.length - EDGE,
      INPUT_RATE - frequencyHz,
      OUTPUT_RATE,
    );
    return {
      frequencyHz,
      gainDb: 20 * Math.log10(toneLevel / inputLevel),
      imageRejectionDb: 20 * Math.log10(toneLevel / imageLevel),
    };
  });
  const gains = points.map((p) => p.gainDb);
  return {
    passbandDeviationDb: Math.max(...gains.map(Math.abs)),
    passbandRippleDb: Math.max(...gains) - Math.min(...gains),
    minImageRejectionDb: Math.min(...points.map((p) => p.imageRejectionDb)),
    points,
  };
}
