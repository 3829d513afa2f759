import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  Upsampler2x,
  decodeMulaw,
  parseWavHeader,
  pcm16leBytes,
  wavHeader,
  type UpsampleFn,
} from '@calltx/audio';

export const TWILIO_FRAME_BYTES = 160; // 20 ms of 8 kHz mu-law per media message
export const FILE_CHUNK_BYTES = 64 * 1024;

/** Collects small writes into 64 KiB writes, as the service's object-upload parts would. */
class StagedFileWriter {
  readonly #fd: number;
  readonly #staging = Buffer.allocUnsafe(64 * 1024);
  #used = 0;

  constructor(path: string) {
    this.#fd = openSync(path, 'w');
  }

  write(bytes: Buffer): void {
    if (this.#used + bytes.length > this.#staging.length) this.#drain();
    if (bytes.length > this.#staging.length) writeSync(this.#fd, bytes);
    else this.#used += bytes.copy(this.#staging, this.#used);
  }

  close(): void {
    this.#drain();
    closeSync(this.#fd);
  }

  #drain(): void {
    if (this.#used > 0) writeSync(this.#fd, this.#staging, 0, this.#used);
    this.#used = 0;
  }
}

/**
 * Writes `seconds` of espeak-ng speech as raw 8 kHz mu-law (the speech repeated), and returns
 * the file and one copy of the speech.
 */
export function makeMulawInput(dir: string, seconds: number): { path: string; speech: Buffer } {
  const speechWav = join(dir, 'speech.wav');
  const speechUl = join(dir, 'speech.ul');
  execFileSync('espeak-ng', [
    '-w',
    speechWav,
    'Thank you for calling. Your call may be recorded for quality purposes. ' +
      'Please hold while we connect you to the next available agent. ' +
      'The quick brown fox jumps over the lazy dog, and the five boxing wizards jump quickly.',
  ]);
  execFileSync('sox', [speechWav, '-r', '8000', '-e', 'mu-law', '-c', '1', '-t', 'raw', speechUl]);
  const speech = readFileSync(speechUl);
  const input = Buffer.alloc(8000 * seconds);
  for (let offset = 0; offset < input.length; offset += speech.length) speech.copy(input, offset);
  const path = join(dir, 'in.ul');
  writeFileSync(path, input);
  return { path, speech };
}

/**
 * mu-law file -> 8 kHz and 16 kHz WAV files with @calltx/audio. The file is read in 64 KiB
 * pieces and converted `chunkBytes` at a time: 160 is what stream-ingest gets per Twilio message.
 */
export function convertOurs(input: string, out8k: string, out16k: string, chunkBytes: number): void {
  const inFd = openSync(input, 'r');
  const totalBytes = fstatSync(inFd).size;
  const w8 = new StagedFileWriter(out8k);
  const w16 = new StagedFileWriter(out16k);
  w8.write(wavHeader({ sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: totalBytes * 2 }));
  w16.write(wavHeader({ sampleRate: 16000, channels: 1, bitsPerSample: 16, dataBytes: totalBytes * 4 }));
  const mulaw = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
  const pcm8k = new Int16Array(chunkBytes);
  const pcm16k = new Int16Array(2 * chunkBytes);
  const upsampler = new Upsampler2x();
  for (;;) {
    const n = readSync(inFd, mulaw, 0, FILE_CHUNK_BYTES, null);
    if (n === 0) break;
    for (let offset = 0; offset < n; offset += chunkBytes) {
      const decoded = decodeMulaw(mulaw.subarray(offset, Math.min(offset + chunkBytes, n)), pcm8k);
      w8.write(pcm16leBytes(decoded));
      w16.write(pcm16leBytes(upsampler.process(decoded, pcm16k)));
    }
  }
  w16.write(pcm16leBytes(upsampler.flush()));
  closeSync(inFd);
  w8.close();
  w16.close();
}

/** The same conversion with sox: the 8 kHz WAV, then the 16 kHz one through `rate -v`. */
export function convertSox(input: string, out8k: string, out16k: string): void {
  const raw = ['-t', 'raw', '-r', '8000', '-e', 'mu-law', '-c', '1', input];
  execFileSync('sox', [...raw, '-b', '16', out8k]);
  // stderr ignored: sox warns about clipping at the loud peaks of the speech.
  execFileSync('sox', [...raw, '-b', '16', out16k, 'rate', '-v', '16000'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
}

/** sox `rate -v 16000` on raw int16, for the tone measurement. */
export const soxUpsample: UpsampleFn = (input) => {
  const out = execFileSync(
    'sox',
    [
      '-t',
      'raw',
      '-r',
      '8000',
      '-e',
      'signed',
      '-b',
      '16',
      '-c',
      '1',
      '-',
      '-t',
      'raw',
      '-e',
      'signed',
      '-b',
      '16',
      '-',
      'rate',
      '-v',
      '16000',
    ],
    { input: pcm16leBytes(input), stdio: ['pipe', 'pipe', 'ignore'] },
  );
  return new Int16Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
};

export function wavSamples(path: string): Int16Array {
  const file = readFileSync(path);
  const info = parseWavHeader(file);
  const data = file.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
  return new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

/** Level of a - (b shifted by lag) relative to a, in dB, away from the ends. */
export function differenceDb(a: Int16Array, b: Int16Array, lag: number): number {
  let signal = 0;
  let diff = 0;
  for (let i = 1000; i < a.length - 1000; i++) {
    signal += a[i]! * a[i]!;
    diff += (a[i]! - b[i + lag]!) ** 2;
  }
  return 10 * Math.log10(diff / signal);
}
