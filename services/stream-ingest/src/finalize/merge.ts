import { decodeMulaw } from '@calltx/audio';
import { SAMPLES_PER_MS } from '../frames/frame.js';
import type { PartRef } from '../spool/object-keys.js';
import { PartFormatError, decodePart, type SpooledFrame } from '../spool/part-format.js';

export interface MergeStats {
  /** Frames that put at least one sample into the output. */
  framesPlaced: number;
  /** Frames wholly covered by earlier ones: redeliveries after a crash, or duplicates. */
  duplicates: number;
  /** Output samples not taken from any frame (silence for gaps, before the first frame and after the last). */
  filledSamples: number;
}

interface OpenPart {
  frames: SpooledFrame[];
  next: number;
  order: number;
}

/** Output block: one second at 8 kHz. */
const BLOCK_SAMPLES = 8_000;

/** A part object that holds no readable frames (see PartFormatError). */
export type UnreadablePart = (part: PartRef, error: PartFormatError) => void;

/**
 * One speaker's stored frames in timestamp order: a k-way merge of its part objects in constant memory. Parts
 * are opened only when the merge reaches their first timestamp, so just the parts overlapping the current
 * position are in memory (one, or a few around a crash). Duplicates come through; callers skip them. A part that
 * is not a part object is skipped and reported to `unreadable` when given (else the merge throws).
 */
export async function* framesInOrder(
  parts: readonly PartRef[],
  load: (key: string) => Promise<Buffer>,
  unreadable?: UnreadablePart,
): AsyncGenerator<SpooledFrame> {
  const sorted = [...parts].sort((a, b) => a.firstTs - b.firstTs || (a.key < b.key ? -1 : 1));
  const heap = new FrameHeap();
  let nextPart = 0;
  for (;;) {
    // Every part that could hold the smallest pending timestamp must be open before popping it.
    while (nextPart < sorted.length && (heap.size === 0 || sorted[nextPart]!.firstTs <= heap.peekTs())) {
      const ref = sorted[nextPart]!;
      const frames = await readPart(ref, load, unreadable);
      if (frames.length > 0) heap.push({ frames, next: 0, order: nextPart });
      nextPart += 1;
    }
    const part = heap.pop();
    if (!part) return;
    const frame = part.frames[part.next]!;
    part.next += 1;
    if (part.next < part.frames.length) heap.push(part);
    yield frame;
  }
}

async function readPart(
  ref: PartRef,
  load: (key: string) => Promise<Buffer>,
  unreadable: UnreadablePart | undefined,
): Promise<SpooledFrame[]> {
  const bytes = await load(ref.key);
  try {
    return decodePart(bytes, ref.key);
  } catch (error) {
    if (!unreadable || !(error instanceof PartFormatError)) throw error;
    unreadable(ref, error);
    return [];
  }
}

/**
 * Streams one speaker's 8 kHz PCM from its part objects (framesInOrder). Each frame is placed at
 * `timestampMs × 8`; samples already written are never written again (a duplicate holds the same bytes), holes
 * become silence, and the output is exactly `totalSamples` long, so the result depends only on the set of stored
 * frames.
 */
export async function* mergeParts(
  parts: readonly PartRef[],
  totalSamples: number,
  load: (key: string) => Promise<Buffer>,
  stats: MergeStats,
  unreadable?: UnreadablePart,
): AsyncGenerator<Int16Array> {
  let block = new Int16Array(BLOCK_SAMPLES);
  let filled = 0;
  let cursor = 0;

  // Copies `samples` (or silence when null) to the output, yielding full blocks.
  const emit = function* (samples: Int16Array | null, count: number): Generator<Int16Array> {
    let done = 0;
    while (done < count) {
      const n = Math.min(count - done, BLOCK_SAMPLES - filled);
      if (samples) block.set(samples.subarray(done, done + n), filled);
      else block.fill(0, filled, filled + n);
      filled += n;
      done += n;
      if (filled === BLOCK_SAMPLES) {
        yield block;
        block = new Int16Array(BLOCK_SAMPLES);
        filled = 0;
      }
    }
  };

  for await (const frame of framesInOrder(parts, load, unreadable)) {
    const start = frame.timestampMs * SAMPLES_PER_MS;
    const end = Math.min(start + frame.payload.length, totalSamples);
    if (end <= cursor) {
      stats.duplicates += 1;
      continue;
    }
    if (start > cursor) {
      stats.filledSamples += start - cursor;
      yield* emit(null, start - cursor);
      cursor = start;
    }
    const pcm = decodeMulaw(frame.payload.subarray(cursor - start, end - start));
    yield* emit(pcm, pcm.length);
    cursor = end;
    stats.framesPlaced += 1;
  }
  if (cursor < totalSamples) {
    stats.filledSamples += totalSamples - cursor;
    yield* emit(null, totalSamples - cursor);
  }
  if (filled > 0) yield block.subarray(0, filled);
}

/** Min-heap of open parts by their next frame's timestamp (ties: the earlier part first, for determinism). */
class FrameHeap {
  private readonly items: OpenPart[] = [];

  get size(): number {
    return this.items.length;
  }

  peekTs(): number {
    return this.items[0]!.frames[this.items[0]!.next]!.timestampMs;
  }

  push(item: OpenPart): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): OpenPart | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && less(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && less(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function less(a: OpenPart, b: OpenPart): boolean {
  const ta = a.frames[a.next]!.timestampMs;
  const tb = b.frames[b.next]!.timestampMs;
  return ta < tb || (ta === tb && a.order < b.order);
}
