/**
 * ITU-T G.711 mu-law codec on 16-bit linear PCM (the 14-bit G.711 range, left-justified).
 *
 * Decoding is a 256-entry table lookup: Twilio media streams deliver mu-law at 8 kHz and this is
 * on the per-frame hot path of every call.
 */

const BIAS = 0x84; // 33 in 14-bit units, shifted left by 2
const MAX_14BIT_MAGNITUDE = 0x1fff;

function decodeCode(code: number): number {
  const inverted = ~code & 0xff;
  const exponent = (inverted >> 4) & 0x07;
  const mantissa = inverted & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return inverted & 0x80 ? -magnitude : magnitude;
}

/** Linear PCM value of each mu-law code, indexed by the code byte. */
export const MULAW_DECODE_TABLE: Int16Array = Int16Array.from({ length: 256 }, (_, code) => decodeCode(code));

function checkedOutput<T extends Int16Array | Uint8Array>(
  out: T | undefined,
  length: number,
  make: (n: number) => T,
): T {
  if (out === undefined) return make(length);
  if (out.length < length)
    throw new RangeError(`output buffer holds ${out.length} samples, ${length} needed`);
  return (out.length === length ? out : out.subarray(0, length)) as T;
}

/**
 * Decodes mu-law bytes to 16-bit PCM. Pass `out` (at least `bytes.length` long) to reuse a buffer;
 * the result is then `out` itself or a view of its first `bytes.length` samples.
 */
export function decodeMulaw(bytes: Uint8Array, out?: Int16Array): Int16Array {
  const n = bytes.length;
  const pcm = checkedOutput(out, n, (len) => new Int16Array(len));
  const table = MULAW_DECODE_TABLE;
  for (let i = 0; i < n; i++) pcm[i] = table[bytes[i]!]!;
  return pcm;
}

/**
 * Encodes 16-bit PCM to mu-law following the ITU-T G.191 reference encoder (`ulaw_compress`):
 * the 14-bit magnitude of a negative sample x is taken from ~x, which keeps the code table
 * symmetric around zero.
 */
export function encodeMulaw(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  const n = pcm.length;
  const codes = checkedOutput(out, n, (len) => new Uint8Array(len));
  for (let i = 0; i < n; i++) {
    const x = pcm[i]!;
    let biased = ((x < 0 ? ~x : x) >> 2) + 33;
    if (biased > MAX_14BIT_MAGNITUDE) biased = MAX_14BIT_MAGNITUDE;
    // Segment = position of the highest set bit above bit 5 (biased is always >= 33).
    const segment = 26 - Math.clz32(biased);
    const step = (biased >> (segment + 1)) & 0x0f;
    const code = ((7 - segment) << 4) | (15 - step);
    codes[i] = x >= 0 ? code | 0x80 : code;
  }
  return codes;
}
