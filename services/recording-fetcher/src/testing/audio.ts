import { createHash } from 'node:crypto';
import { wavHeader } from '@calltx/audio';

export interface StereoFixture {
  /** The dual-channel file as Twilio serves it. */
  wav: Buffer;
  /** What each channel's mono file must contain. */
  left: Buffer;
  right: Buffer;
  sha256: string;
}

/**
 * A dual-channel 16-bit WAV whose two channels differ in every sample (left counts up, right is a different
 * pattern), so a swapped, shifted or mixed split is caught.
 */
export function stereoWav(seconds: number, sampleRate = 8000): StereoFixture {
  const frames = Math.round(seconds * sampleRate);
  const data = Buffer.alloc(frames * 4);
  const left = Buffer.alloc(frames * 2);
  const right = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) {
    const l = ((i * 7) % 65536) - 32768;
    const r = ((i * 13 + 12345) % 65536) - 32768;
    data.writeInt16LE(l, i * 4);
    data.writeInt16LE(r, i * 4 + 2);
    left.writeInt16LE(l, i * 2);
    right.writeInt16LE(r, i * 2);
  }
  const monoHeader = wavHeader({ sampleRate, channels: 1, bitsPerSample: 16, dataBytes: frames * 2 });
  const wav = Buffer.concat([
    wavHeader({ sampleRate, channels: 2, bitsPerSample: 16, dataBytes: data.length }),
    data,
  ]);
  return {
    wav,
    left: Buffer.concat([monoHeader, left]),
    right: Buffer.concat([monoHeader, right]),
    sha256: sha256(wav),
  };
}

export function monoWav(seconds: number, sampleRate = 8000): Buffer {
  const data = Buffer.alloc(Math.round(seconds * sampleRate) * 2, 1);
  return Buffer.concat([
    wavHeader({ sampleRate, channels: 1, bitsPerSample: 16, dataBytes: data.length }),
    data,
  ]);
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
