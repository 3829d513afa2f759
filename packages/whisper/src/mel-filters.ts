/** One triangular mel filter, stored sparsely: weights for FFT bins start .. start + weights.length - 1. */
export interface MelFilter {
  readonly start: number;
  readonly weights: Float64Array;
}

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/**
 * Whisper's filterbank: Slaney mel scale (linear below 1 kHz, logarithmic above), filters spanning
 * 0 Hz .. Nyquist, each scaled by 2 / (its bandwidth in Hz) — librosa.filters.mel's defaults.
 */
export function slaneyMelFilters(nMels: number, nFft: number, sampleRate: number): MelFilter[] {
  const nBins = nFft / 2 + 1;
  const maxMel = hzToMel(sampleRate / 2);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz((maxMel * i) / (nMels + 1)));
  const filters: MelFilter[] = [];
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m]!;
    const centre = edges[m + 1]!;
    const hi = edges[m + 2]!;
    const norm = 2 / (hi - lo);
    const dense = new Float64Array(nBins);
    let first = -1;
    let last = -1;
    for (let bin = 0; bin < nBins; bin++) {
      const hz = (bin * sampleRate) / nFft;
      const weight = Math.max(0, Math.min((hz - lo) / (centre - lo), (hi - hz) / (hi - centre))) * norm;
      dense[bin] = weight;
      if (weight > 0) {
        if (first < 0) first = bin;
        last = bin;
      }
    }
    filters.push(
      first < 0
        ? { start: 0, weights: new Float64Array(0) }
        : { start: first, weights: dense.slice(first, last + 1) },
    );
  }
  return filters;
}
