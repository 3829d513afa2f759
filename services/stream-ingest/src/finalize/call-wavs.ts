import type { ObjectStore } from '@calltx/storage';
import type { Track } from '@calltx/events';
import { FRAME_BYTES, MAX_TIMESTAMP_MS, SAMPLES_PER_MS } from '../frames/frame.js';
import { parsePartKey, partsPrefix, wavKey, type PartRef } from '../spool/object-keys.js';
import { mergeParts, type MergeStats } from './merge.js';
import { storeWav, upsampled, type StoredWav } from './wav-writer.js';

const FRAME_MS = FRAME_BYTES / SAMPLES_PER_MS;

export interface SpeakerWavs {
  speaker: string;
  wav8k: StoredWav;
  wav16k: StoredWav;
  gapFilledMs: number;
  framesPlaced: number;
  duplicates: number;
  /** Parts left out: not part objects (e.g. a 0-byte object an upload killed midway left behind). */
  unreadable: PartRef[];
}

export interface CallWavs {
  durationMs: number;
  speakers: SpeakerWavs[];
}

/** What the stream stop says about a speaker's end. */
export interface AnnouncedEnd {
  speaker: string;
  /** Timestamp of the last frame the gateway received (-1: none). */
  lastTimestampMs: number;
  /** Frames the gateway received but could not publish. */
  framesLost: number;
}

/** What the stream stop recorded on a call row says about where each track ended (none before the stop). */
export function announcedEnds(row: {
  tracks: readonly Track[];
  speakers: Record<Track, string>;
  lastTimestampMs: Record<Track, number> | null;
  framesLost: Record<Track, number> | null;
}): AnnouncedEnd[] {
  const { lastTimestampMs, framesLost, tracks, speakers } = row;
  if (!lastTimestampMs || !framesLost) return [];
  return tracks.map((track) => ({
    speaker: speakers[track],
    lastTimestampMs: lastTimestampMs[track],
    framesLost: framesLost[track],
  }));
}

export async function listParts(store: ObjectStore, callSid: string, speaker: string): Promise<PartRef[]> {
  const parts: PartRef[] = [];
  for await (const { key } of store.list(partsPrefix(callSid, speaker))) {
    const part = parsePartKey(key);
    if (part) parts.push(part);
  }
  return parts;
}

/**
 * Writes the final WAVs of a call from its spooled parts: per speaker one 8 kHz and one 16 kHz file, all of the
 * same duration so they line up on call time. The end is the latest frame stored, or later where the stream stop
 * announces frames lost at the end (they are call time too). The announced timestamp also counts frames this
 * service rejected, so it is believed only as far as the lost frames can reach: a garbage timestamp can't
 * stretch the files. Deterministic: re-running over the same parts stores identical objects. A part that is not a
 * part object is left out of both files (the caller sets it aside), so one bad object can't block the call.
 */
export async function writeCallWavs(
  store: ObjectStore,
  callSid: string,
  speakers: readonly string[],
  announced: readonly AnnouncedEnd[] = [],
  /** Aborts the uploads (nothing becomes visible) when the call's claim is lost. */
  signal?: AbortSignal,
): Promise<CallWavs> {
  const partsBySpeaker = new Map<string, PartRef[]>();
  const spooledEnd = new Map<string, number>();
  for (const speaker of speakers) {
    const parts = await listParts(store, callSid, speaker);
    partsBySpeaker.set(speaker, parts);
    spooledEnd.set(speaker, Math.max(0, ...parts.map((part) => part.lastTs + FRAME_MS)));
  }
  let endMs = Math.max(0, ...spooledEnd.values());
  for (const { speaker, lastTimestampMs, framesLost } of announced) {
    if (framesLost <= 0 || lastTimestampMs < 0 || !spooledEnd.has(speaker)) continue;
    // One frame of slack for timestamps off the 20 ms grid.
    const reach = spooledEnd.get(speaker)! + (framesLost + 1) * FRAME_MS;
    endMs = Math.max(endMs, Math.min(lastTimestampMs + FRAME_MS, reach, MAX_TIMESTAMP_MS));
  }
  const totalSamples = endMs * SAMPLES_PER_MS;
  const load = (key: string) => store.getBuffer(key);

  const results: SpeakerWavs[] = [];
  for (const speaker of speakers) {
    const parts = partsBySpeaker.get(speaker)!;
    // Two passes over the parts (cheap: they are half the size of the 8 kHz PCM) keep each upload a plain stream.
    const stats: MergeStats = { framesPlaced: 0, duplicates: 0, filledSamples: 0 };
    const unreadable: PartRef[] = [];
    const wav8k = await storeWav(
      store,
      wavKey(callSid, speaker, 8000),
      8000,
      totalSamples,
      mergeParts(parts, totalSamples, load, stats, (part) => unreadable.push(part)),
      signal,
    );
    const readable = parts.filter((part) => !unreadable.includes(part));
    const again: MergeStats = { framesPlaced: 0, duplicates: 0, filledSamples: 0 };
    const wav16k = await storeWav(
      store,
      wavKey(callSid, speaker, 16000),
      16000,
      2 * totalSamples,
      upsampled(mergeParts(readable, totalSamples, load, again)),
      signal,
    );
    results.push({
      speaker,
      wav8k,
      wav16k,
      gapFilledMs: Math.round(stats.filledSamples / SAMPLES_PER_MS),
      framesPlaced: stats.framesPlaced,
      duplicates: stats.duplicates,
      unreadable,
    });
  }
  return { durationMs: endMs, speakers: results };
}
