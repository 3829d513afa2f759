import { randomBytes } from 'node:crypto';

/** Where a call's stream audio lives in the bucket. */
export const streamPrefix = (callSid: string) => `calls/${callSid}/stream/`;

export const wavKey = (callSid: string, speaker: string, sampleRate: 8000 | 16000) =>
  `${streamPrefix(callSid)}${speaker}-${sampleRate}.wav`;

export const partsPrefix = (callSid: string, speaker: string) => `${streamPrefix(callSid)}parts/${speaker}/`;

/**
 * Where a part that is not a part object is kept aside, out of the merge and of the cleanup after finalize: until
 * a later pass finds it readable and moves it back (`parts/` → `unreadable-parts/`, the name unchanged).
 */
export const unreadablePartKey = (callSid: string, speaker: string, key: string) =>
  `${streamPrefix(callSid)}unreadable-parts/${speaker}/${key.slice(partsPrefix(callSid, speaker).length)}`;

// Zero-padded so a listing sorts parts by time; 10 digits hold 115 days of milliseconds.
const pad = (ms: number) => ms.toString().padStart(10, '0');

export function partKey(callSid: string, speaker: string, firstTs: number, lastTs: number): string {
  return `${partsPrefix(callSid, speaker)}${pad(firstTs)}-${pad(lastTs)}-${randomBytes(4).toString('hex')}.bin`;
}

export interface PartRef {
  key: string;
  /** Timestamps of the part's first and last frame. */
  firstTs: number;
  lastTs: number;
}

const PART_NAME = /\/(\d{10})-(\d{10})-[0-9a-f]{8}\.bin$/;

/** null for anything that is not a part name (stray objects are left alone). */
export function parsePartKey(key: string): PartRef | null {
  const match = PART_NAME.exec(key);
  if (!match) return null;
  return { key, firstTs: Number(match[1]), lastTs: Number(match[2]) };
}
