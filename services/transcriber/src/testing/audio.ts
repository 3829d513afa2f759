import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pcm16leBytes, wavHeader } from '@calltx/audio';

/**
 * Spoken phrases (espeak-ng, 16 kHz mono s16le, speech from first to last sample) shared with
 * @calltx/speech's tests: real speech, so the VAD finds utterances where a tone would not.
 */
export function phrase(n: 1 | 2 | 3): Int16Array {
  const path = fileURLToPath(
    new URL(`../../../../packages/speech/fixtures/phrase-${n}.s16le`, import.meta.url),
  );
  const bytes = readFileSync(path);
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
  return pcm;
}

export function silence(ms: number, rate = 16_000): Int16Array {
  return new Int16Array((ms * rate) / 1000);
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** 16 kHz → 8 kHz by averaging pairs (a crude low-pass is enough: the service upsamples it back). */
export function halfRate(pcm16k: Int16Array): Int16Array {
  const out = new Int16Array(pcm16k.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((pcm16k[2 * i]! + pcm16k[2 * i + 1]!) / 2);
  return out;
}

export function wavFile(pcm: Int16Array, sampleRate: number): Buffer {
  const data = pcm16leBytes(pcm);
  return Buffer.concat([
    wavHeader({ sampleRate, channels: 1, bitsPerSample: 16, dataBytes: data.length }),
    data,
  ]);
}
