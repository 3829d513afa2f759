import { describe, expect, it } from 'vitest';
import { decodeMulaw } from '@calltx/audio';
import { parsePartKey, partKey } from '../spool/object-keys.js';
import { PartFormatError, decodePart, encodePart, type SpooledFrame } from '../spool/part-format.js';
import { mergeParts, type MergeStats } from './merge.js';

const CALL = `CA${'a'.repeat(32)}`;
const frame = (timestampMs: number): SpooledFrame => ({
  timestampMs,
  payload: Uint8Array.from({ length: 160 }, (_, i) => (timestampMs / 20 + i) & 0xff),
});

/** Parts as they would be stored, in a map standing in for the bucket; records which parts were read. */
function bucket(parts: SpooledFrame[][]) {
  const objects = new Map<string, Buffer>();
  const refs = parts.map((frames) => {
    const stamps = frames.map((f) => f.timestampMs);
    const key = partKey(CALL, 'agent', Math.min(...stamps), Math.max(...stamps));
    objects.set(key, encodePart(frames));
    return parsePartKey(key)!;
  });
  const loaded: string[] = [];
  const load = async (key: string) => {
    loaded.push(key);
    return objects.get(key)!;
  };
  return { refs, loaded, load };
}

async function collect(blocks: AsyncIterable<Int16Array>): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const block of blocks) chunks.push(block.slice());
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

describe('mergeParts', () => {
  it('places frames by timestamp once each, whatever the parts overlap, and fills the rest with silence', async () => {
    const range = (from: number, to: number) =>
      Array.from({ length: (to - from) / 20 }, (_, i) => frame(from + 20 * i));
    // A crash replayed 200–400 ms into a second part; 600–700 ms never arrived; one frame is 10 ms off the grid.
    const { refs, load } = bucket([
      range(0, 400),
      [...range(200, 600)].reverse(),
      [frame(710)],
      range(700, 800),
    ]);
    const stats: MergeStats = { framesPlaced: 0, duplicates: 0, filledSamples: 0 };
    const pcm = await collect(mergeParts(refs, 900 * 8, load, stats));

    // In time order, each frame writes only the samples no earlier frame wrote: 710 adds 720–730 after 700.
    const mulaw = new Uint8Array(900 * 8).fill(0xff);
    const written = new Uint8Array(mulaw.length);
    for (const ts of [
      0,
      20,
      40,
      60,
      80,
      100,
      120,
      140,
      160,
      180,
      ...range(200, 600).map((f) => f.timestampMs),
      700,
      710,
      720,
      740,
      760,
      780,
    ]) {
      frame(ts).payload.forEach((byte, i) => {
        if (!written[ts * 8 + i]) mulaw[ts * 8 + i] = byte;
        written[ts * 8 + i] = 1;
      });
    }
    expect(pcm).toEqual(decodeMulaw(mulaw));
    // The replayed 200–380 ms frames are dropped whole.
    expect(stats).toEqual({ framesPlaced: 36, duplicates: 10, filledSamples: (100 + 100) * 8 });
  });

  it('reads a part only when the merge reaches it', async () => {
    const parts = Array.from({ length: 50 }, (_, p) =>
      Array.from({ length: 50 }, (_, i) => frame(p * 1000 + 20 * i)),
    );
    const { refs, loaded, load } = bucket(parts);
    const stats: MergeStats = { framesPlaced: 0, duplicates: 0, filledSamples: 0 };
    let blocks = 0;
    for await (const block of mergeParts(refs, 50_000 * 8, load, stats)) {
      // Block n (one second) needs parts up to n, plus at most the next one.
      expect(loaded.length).toBeLessThanOrEqual(blocks + 2);
      blocks += block.length / 8000;
    }
    expect(loaded).toHaveLength(50);
    expect(stats.framesPlaced).toBe(2_500);
  });
});

describe('part format', () => {
  it('round-trips frames sorted by timestamp and refuses anything else', () => {
    const frames = [frame(40), frame(0), frame(20)];
    const decoded = decodePart(encodePart(frames));
    expect(decoded.map((f) => f.timestampMs)).toEqual([0, 20, 40]);
    expect(Buffer.from(decoded[2]!.payload)).toEqual(Buffer.from(frame(40).payload));
    const bytes = encodePart(frames);
    expect(() => decodePart(bytes.subarray(0, bytes.length - 1))).toThrow(PartFormatError);
    expect(() => decodePart(Buffer.from('RIFF....WAVE'))).toThrow(PartFormatError);
  });

  it('names parts so that a listing sorts them by time', () => {
    const key = partKey(CALL, 'technician', 120, 4_980);
    expect(key).toMatch(
      new RegExp(`^calls/${CALL}/stream/parts/technician/0000000120-0000004980-[0-9a-f]{8}\\.bin$`),
    );
    expect(parsePartKey(key)).toEqual({ key, firstTs: 120, lastTs: 4_980 });
    expect(parsePartKey(`calls/${CALL}/stream/agent-8000.wav`)).toBeNull();
  });
});
