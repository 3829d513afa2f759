/**
 * Kaiser-windowed half-band low-pass for 2x interpolation (8 kHz -> 16 kHz).
 *
 * A half-band filter is symmetric about fs/4 (4 kHz at the 16 kHz output): the telephone band
 * 0..3.4 kHz is its passband and the images of that band, 4.6..8 kHz, its stopband. Every
 * even-distance tap except the centre is zero, so in the polyphase form one output phase is the
 * input sample itself and the other is a symmetric FIR of 2*K taps (K multiplies per input).
 */

/** Taps on each side of the interpolating phase; filter length is 4K - 1 = 127. */
export const HALF_BAND_TAPS_PER_SIDE = 32;

/** Kaiser beta chosen for the deepest stopband at this length (>= 138 dB from 4.6 kHz, by design). */
export const HALF_BAND_KAISER_BETA = 15;

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

/**
 * Coefficients of the interpolating phase: `g[i]` weights the input samples at distance 2i + 1
 * (in output samples) on either side of the output being computed. Scaled for unity passband gain.
 */
export function designHalfBand(tapsPerSide: number, kaiserBeta: number): Float64Array {
  const halfWidth = 2 * tapsPerSide; // the window reaches zero-valued even taps at +-2K
  const norm = besselI0(kaiserBeta);
  return Float64Array.from({ length: tapsPerSide }, (_, i) => {
    const distance = 2 * i + 1;
    const window = besselI0(kaiserBeta * Math.sqrt(1 - (distance / halfWidth) ** 2)) / norm;
    const sinc = Math.sin((Math.PI * distance) / 2) / ((Math.PI * distance) / 2);
    return sinc * window;
  });
}
