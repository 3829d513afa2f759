import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Samples per millisecond at 16 kHz. */
export const PER_MS = 16;

/** One of the espeak-ng phrases in fixtures/ (see fixtures/make-fixtures.sh): speech from first to last sample. */
export function phrase(n: 1 | 2 | 3): Int16Array {
  const bytes = readFileSync(fileURLToPath(new URL(`../../fixtures/phrase-${n}.s16le`, import.meta.url)));
  const pcm = new Int16Array(bytes.length / 2);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
  return pcm;
}

export type Part = { speech: Int16Array } | { silenceMs: number; noise?: number };

export interface Layout {
  pcm: Int16Array;
  /** Where each speech part lies, in ms from the start of `pcm`. */
  speech: { startMs: number; endMs: number }[];
}

/** Speech and silence (or white noise of the given peak amplitude) one after another. */
export function layout(parts: Part[], seed = 1): Layout {
  const random = mulberry32(seed);
  const chunks: Int16Array[] = [];
  const speech: Layout['speech'] = [];
  let at = 0;
  for (const part of parts) {
    let chunk: Int16Array;
    if ('speech' in part) {
      chunk = part.speech;
      speech.push({ startMs: at / PER_MS, endMs: (at + chunk.length) / PER_MS });
    } else {
      chunk = new Int16Array(part.silenceMs * PER_MS);
      const amplitude = part.noise ?? 0;
      for (let i = 0; i < chunk.length; i++) chunk[i] = Math.round((random() * 2 - 1) * amplitude);
    }
    chunks.push(chunk);
    at += chunk.length;
  }
  const pcm = new Int16Array(at);
  let offset = 0;
  for (const chunk of chunks) {
    pcm.set(chunk, offset);
    offset += chunk.length;
  }
  return { pcm, speech };
}

/** A small seeded PRNG, so that noise is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits audio into chunks of `chunkMs`, with the call-time offset of each (from `startMs`). */
export function chunks(
  pcm: Int16Array,
  chunkMs: number,
  startMs = 0,
): { pcm: Int16Array; offsetMs: number }[] {
  const size = chunkMs * PER_MS;
  const out: { pcm: Int16Array; offsetMs: number }[] = [];
  for (let i = 0; i < pcm.length; i += size) {
    out.push({ pcm: pcm.subarray(i, i + size), offsetMs: startMs + i / PER_MS });
  }
  return out;
}
