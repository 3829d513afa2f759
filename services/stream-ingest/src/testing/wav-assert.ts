import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { WAV_HEADER_BYTES, parseWavHeader, pcm16leBytes } from '@calltx/audio';
import type { ObjectStore } from '@calltx/storage';
import type { Track } from '@calltx/events';
import type { StreamFileRow } from '../db/calls-repo.js';
import { wavKey } from '../spool/object-keys.js';
import { SPEAKERS, type SyntheticCall } from './synthetic-call.js';

/** Index of the first differing sample, or -1: a readable failure instead of a million-element diff. */
function firstDifference(actual: Int16Array, expected: Int16Array): number {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : n;
}

function samplesOf(wav: Buffer): Int16Array {
  const data = wav.subarray(WAV_HEADER_BYTES);
  const pcm = new Int16Array(data.length / 2);
  for (let i = 0; i < pcm.length; i++) pcm[i] = data.readInt16LE(2 * i);
  return pcm;
}

/** Checks both WAVs of a speaker: header, size, exact samples, and that the file row describes them. */
export async function expectExactWavs(
  store: ObjectStore,
  call: SyntheticCall,
  track: Track,
  files: StreamFileRow[],
  endMs = call.endMs(),
): Promise<void> {
  const speaker = SPEAKERS[track];
  for (const [sampleRate, expected] of [
    [8000, call.expectedPcm8k(track, endMs)],
    [16000, call.expectedPcm16k(track, endMs)],
  ] as const) {
    const key = wavKey(call.callSid, speaker, sampleRate);
    const wav = await store.getBuffer(key);
    const header = parseWavHeader(wav);
    expect(header).toMatchObject({
      formatCode: 1,
      channels: 1,
      sampleRate,
      bitsPerSample: 16,
      dataOffset: WAV_HEADER_BYTES,
    });
    expect(header.dataBytes).toBe(expected.length * 2);
    expect(wav.length).toBe(WAV_HEADER_BYTES + expected.length * 2);
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect({ speaker, sampleRate, firstDifference: firstDifference(samplesOf(wav), expected) }).toEqual({
      speaker,
      sampleRate,
      firstDifference: -1,
    });
    expect(Buffer.compare(wav.subarray(WAV_HEADER_BYTES), pcm16leBytes(expected))).toBe(0);
    const row = files.find((f) => f.speaker === speaker && f.sampleRate === sampleRate);
    expect(row).toMatchObject({
      key,
      bytes: wav.length,
      durationMs: endMs,
      sha256: createHash('sha256').update(wav).digest('hex'),
    });
  }
}
