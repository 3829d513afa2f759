import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulaw as alawmulaw } from 'alawmulaw';
import { afterAll, describe, expect, it } from 'vitest';
import { MULAW_DECODE_TABLE, decodeMulaw, encodeMulaw } from './mulaw.js';

/**
 * G.711 Table 2b, read directly: the character signal's first bit is the polarity (1 = positive),
 * the next three bits are the segment and the last four the step within it, both transmitted
 * inverted. Segment s, step q decodes to (2q + 33) * 2^s - 33 in 14-bit units (x4 for 16-bit).
 */
function g711Decode(code: number): number {
  const positive = (code & 0x80) !== 0;
  const segment = 7 - ((code >> 4) & 7);
  const step = 15 - (code & 15);
  const magnitude = 4 * ((2 * step + 33) * 2 ** segment - 33);
  return positive ? magnitude : -magnitude;
}

/** G.711 decision interval of step q in segment s: [(2q+32)*2^s - 33, (2q+34)*2^s - 33) in 14-bit units. */
function g711Encode(x: number): number {
  const magnitude = Math.min((x < 0 ? -x - 1 : x) >> 2, 8158);
  for (let segment = 0; segment < 8; segment++) {
    for (let step = 0; step < 16; step++) {
      const upper = (2 * step + 34) * 2 ** segment - 33;
      if (magnitude < upper) return (x >= 0 ? 0x80 : 0) | ((7 - segment) << 4) | (15 - step);
    }
  }
  throw new Error(`no interval for ${x}`);
}

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
const ALL_INT16 = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

const workDir = mkdtempSync(join(tmpdir(), 'calltx-mulaw-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('MULAW_DECODE_TABLE / decodeMulaw', () => {
  it('matches the G.711 definition for all 256 codes', () => {
    const expected = Int16Array.from(ALL_CODES, g711Decode);
    expect(MULAW_DECODE_TABLE).toEqual(expected);
    expect(decodeMulaw(ALL_CODES)).toEqual(expected);
    expect(MULAW_DECODE_TABLE[0x80]).toBe(32124);
    expect(MULAW_DECODE_TABLE[0x00]).toBe(-32124);
    expect(MULAW_DECODE_TABLE[0xff]).toBe(0);
  });

  it('matches sox for all 256 codes', () => {
    const input = join(workDir, 'all.ul');
    const output = join(workDir, 'all.s16');
    writeFileSync(input, ALL_CODES);
    execFileSync('sox', [
      '-t',
      'raw',
      '-r',
      '8000',
      '-e',
      'mu-law',
      '-b',
      '8',
      '-c',
      '1',
      input,
      '-t',
      'raw',
      '-e',
      'signed',
      '-b',
      '16',
      output,
    ]);
    const raw = readFileSync(output);
    expect(raw.length).toBe(512);
    const fromSox = Int16Array.from({ length: 256 }, (_, i) => raw.readInt16LE(2 * i));
    expect(decodeMulaw(ALL_CODES)).toEqual(fromSox);
  });

  it('matches alawmulaw for all 256 codes', () => {
    expect(decodeMulaw(ALL_CODES)).toEqual(alawmulaw.decode(ALL_CODES));
  });

  it('writes into a caller-owned buffer without allocating', () => {
    const out = new Int16Array(300);
    const result = decodeMulaw(ALL_CODES, out);
    expect(result.buffer).toBe(out.buffer);
    expect(result.length).toBe(256);
    expect(Array.from(out.subarray(0, 4))).toEqual([-32124, -31100, -30076, -29052]);
    const exact = new Int16Array(256);
    expect(decodeMulaw(ALL_CODES, exact)).toBe(exact);
  });

  it('rejects an output buffer that is too short', () => {
    expect(() => decodeMulaw(ALL_CODES, new Int16Array(255))).toThrow(RangeError);
  });
});

describe('encodeMulaw', () => {
  it('picks the G.711 decision interval for every 16-bit input', () => {
    const codes = encodeMulaw(ALL_INT16);
    const mismatches = ALL_INT16.filter((x, i) => codes[i] !== g711Encode(x));
    expect(Array.from(mismatches.subarray(0, 5))).toEqual([]);
  });

  it('reproduces every code from its own decoded value', () => {
    // 0x7f decodes to 0 like 0xff; the encoder uses the positive zero.
    const roundTrip = encodeMulaw(decodeMulaw(ALL_CODES));
    const expected = Uint8Array.from(ALL_CODES, (c) => (c === 0x7f ? 0xff : c));
    expect(roundTrip).toEqual(expected);
  });

  it('is symmetric: ~x encodes to the mirrored code of x', () => {
    const codes = encodeMulaw(ALL_INT16);
    for (let i = 0; i < 32768; i++) {
      const positive = codes[32768 + i]!; // x = i
      const negative = codes[32767 - i]!; // ~x = -i - 1
      if (negative !== (positive ^ 0x80)) expect({ x: i, positive, negative }).toBeUndefined();
    }
  });

  it('keeps the quantisation error within one step of the segment', () => {
    const decoded = decodeMulaw(encodeMulaw(ALL_INT16));
    for (let i = 0; i < ALL_INT16.length; i++) {
      const x = ALL_INT16[i]!;
      const clipped = Math.max(-32124, Math.min(32124, x));
      const segmentStep = 8 << Math.max(0, Math.floor(Math.log2((Math.abs(clipped) >> 2) + 33)) - 5);
      if (Math.abs(decoded[i]! - clipped) > segmentStep) expect({ x, decoded: decoded[i] }).toBeUndefined();
    }
  });

  it('writes into a caller-owned buffer and rejects a short one', () => {
    const out = new Uint8Array(4);
    expect(encodeMulaw(Int16Array.of(0, 32767, -32768), out).buffer).toBe(out.buffer);
    expect(Array.from(out.subarray(0, 3))).toEqual([0xff, 0x80, 0x00]);
    expect(() => encodeMulaw(Int16Array.of(1, 2), new Uint8Array(1))).toThrow(RangeError);
  });
});
