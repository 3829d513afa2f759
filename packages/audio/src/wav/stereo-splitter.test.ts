import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WavFormatError } from './errors.js';
import { parseWavHeader } from './header.js';
import { StereoSplitter } from './stereo-splitter.js';

const workDir = mkdtempSync(join(tmpdir(), 'calltx-split-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function interleaved(frames: number): Buffer {
  const buf = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    buf.writeInt16LE(((i * 37) % 65536) - 32768, 4 * i);
    buf.writeInt16LE(-((i * 101) % 32768), 4 * i + 2);
  }
  return buf;
}

function expectedChannels(buf: Buffer): { left: Buffer; right: Buffer } {
  const frames = buf.length >> 2;
  const left = Buffer.alloc(frames * 2);
  const right = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) {
    left.writeInt16LE(buf.readInt16LE(4 * i), 2 * i);
    right.writeInt16LE(buf.readInt16LE(4 * i + 2), 2 * i);
  }
  return { left, right };
}

function splitInChunks(buf: Buffer, cuts: number[]): { left: Buffer; right: Buffer; maxLeftover: number } {
  const splitter = new StereoSplitter();
  const lefts: Buffer[] = [];
  const rights: Buffer[] = [];
  let maxLeftover = 0;
  let offset = 0;
  for (const cut of [...cuts, buf.length]) {
    const { left, right } = splitter.push(buf.subarray(offset, cut));
    lefts.push(Buffer.from(left));
    rights.push(Buffer.from(right));
    maxLeftover = Math.max(maxLeftover, splitter.leftoverBytes);
    offset = cut;
  }
  splitter.end();
  return { left: Buffer.concat(lefts), right: Buffer.concat(rights), maxLeftover };
}

describe('StereoSplitter', () => {
  const stereo = interleaved(5000);
  const expected = expectedChannels(stereo);

  it('splits chunks cut at any byte offset, including odd ones and empty chunks', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const patterns: number[][] = [
      [],
      [1, 2, 3, 5, 5, 6, 11],
      Array.from({ length: 200 }, (_, i) => i * 97 + 1),
      Array.from({ length: 300 }, () => random(stereo.length)).sort((a, b) => a - b),
    ];
    for (const cuts of patterns) {
      const { left, right, maxLeftover } = splitInChunks(stereo, cuts);
      expect(left.equals(expected.left)).toBe(true);
      expect(right.equals(expected.right)).toBe(true);
      expect(maxLeftover).toBeLessThanOrEqual(3);
    }
  });

  it('byte-at-a-time gives the same channels', () => {
    const small = stereo.subarray(0, 4 * 50);
    const { left, right } = splitInChunks(
      small,
      Array.from({ length: small.length }, (_, i) => i),
    );
    expect(left.equals(expected.left.subarray(0, 100))).toBe(true);
    expect(right.equals(expected.right.subarray(0, 100))).toBe(true);
  });

  it('matches sox remix on a real stereo WAV read as a stream with odd-sized chunks', async () => {
    const stereoPath = join(workDir, 'call.wav');
    execFileSync('sox', [
      '-n',
      '-r',
      '8000',
      '-b',
      '16',
      '-c',
      '2',
      stereoPath,
      'synth',
      '3',
      'sine',
      '300',
      'sine',
      '1900',
      'gain',
      '-3',
    ]);
    const leftPath = join(workDir, 'left.raw');
    const rightPath = join(workDir, 'right.raw');
    execFileSync('sox', [stereoPath, '-t', 'raw', leftPath, 'remix', '1']);
    execFileSync('sox', [stereoPath, '-t', 'raw', rightPath, 'remix', '2']);

    const info = parseWavHeader(readFileSync(stereoPath).subarray(0, 4096));
    const splitter = new StereoSplitter();
    const lefts: Buffer[] = [];
    const rights: Buffer[] = [];
    for await (const piece of createReadStream(stereoPath, { start: info.dataOffset, highWaterMark: 1001 })) {
      const { left, right } = splitter.push(piece as Buffer);
      lefts.push(Buffer.from(left));
      rights.push(Buffer.from(right));
    }
    splitter.end();
    expect(Buffer.concat(lefts).equals(readFileSync(leftPath))).toBe(true);
    expect(Buffer.concat(rights).equals(readFileSync(rightPath))).toBe(true);
    expect(Buffer.concat(lefts).length).toBe(info.dataBytes / 2);
  });

  it('hands each push its channels in the same reused space, growing it only for a larger chunk', () => {
    // Chunks large enough that each output has an ArrayBuffer of its own (not Buffer's shared pool).
    const long = interleaved(20_000);
    const channels = expectedChannels(long);
    const splitter = new StereoSplitter();
    const first = splitter.push(long.subarray(0, 20_000));
    const firstLeft = Buffer.from(first.left);
    const second = splitter.push(long.subarray(20_000, 40_000));
    expect(second.left.buffer).toBe(first.left.buffer);
    expect(second.right.buffer).toBe(first.right.buffer);
    expect(first.left.equals(channels.left.subarray(10_000, 20_000))).toBe(true); // overwritten by the second push
    expect(firstLeft.equals(channels.left.subarray(0, 10_000))).toBe(true);
    const larger = splitter.push(long.subarray(40_000, 80_000));
    expect(larger.left.buffer).not.toBe(first.left.buffer);
    expect(larger.left.equals(channels.left.subarray(20_000, 40_000))).toBe(true);
    expect(larger.right.equals(channels.right.subarray(20_000, 40_000))).toBe(true);
  });

  it('reports leftover bytes and fails end() on a stream cut mid-frame', () => {
    const splitter = new StereoSplitter();
    const { left, right } = splitter.push(stereo.subarray(0, 9));
    expect(left.equals(expected.left.subarray(0, 4))).toBe(true);
    expect(right.equals(expected.right.subarray(0, 4))).toBe(true);
    expect(splitter.leftoverBytes).toBe(1);
    expect(() => splitter.end()).toThrow(WavFormatError);
    expect(() => splitter.push(stereo)).toThrow(/after end/);

    const clean = new StereoSplitter();
    clean.push(stereo.subarray(0, 8));
    expect(clean.leftoverBytes).toBe(0);
    expect(() => clean.end()).not.toThrow();
  });

  it('names the dropped byte count in the error', () => {
    const splitter = new StereoSplitter();
    splitter.push(stereo.subarray(0, 7));
    expect(() => splitter.end()).toThrow(
      'stereo PCM ended mid-frame: 3 leftover byte(s) of a 4-byte frame dropped',
    );
  });
});
