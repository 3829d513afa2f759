import { describe, expect, it } from 'vitest';
import { FRAME_BYTES, type Frame } from '../frames/frame.js';
import { LiveTrack, onGrid } from './live-track.js';
import type { SpeechSink } from './speech-sink.js';

const FRAME_MS = 20;
const frames = (fromMs: number, count: number): Frame[] =>
  Array.from({ length: count }, (_, i) => ({
    timestampMs: fromMs + i * FRAME_MS,
    payload: new Uint8Array(FRAME_BYTES).fill(0x7f),
  }));

/** A sink that records where each 16 kHz chunk sits on call time, and how many samples it holds. */
function recordingSink() {
  const chunks: Array<{ offsetMs: number; samples: number }> = [];
  const sink: SpeechSink = {
    push: (pcm16k, offsetMs) => {
      chunks.push({ offsetMs, samples: pcm16k.length });
      return undefined;
    },
    end: async () => undefined,
  };
  return { sink, chunks };
}

describe('LiveTrack', () => {
  it('starts at the first frame it sees', async () => {
    const { sink, chunks } = recordingSink();
    const track = new LiveTrack(sink);
    await track.push(frames(400, 5), new Date().toISOString());
    expect(chunks[0]?.offsetMs).toBe(400);
  });

  it('resumed with no stored audio, skips what the last final covered and starts on the uninterrupted grid', async () => {
    const { sink, chunks } = recordingSink();
    const track = new LiveTrack(sink);
    // The grid begins at the speaker's first frame (100 ms); the last final ended at 1000 ms; windows of 32 ms.
    track.startOnGridAt(1000, 32);
    await track.push(frames(100, 60), new Date().toISOString());
    expect(chunks[0]?.offsetMs).toBe(996);
    const samples = chunks.reduce((sum, c) => sum + c.samples, 0);
    // Everything from the grid start to the last frame's end (upsampler delay aside) and nothing before it.
    expect(samples).toBeLessThanOrEqual((100 + 60 * FRAME_MS - 996) * 16);
    expect(samples).toBeGreaterThan((100 + 60 * FRAME_MS - 996 - 5) * 16);
  });
});

describe('LiveTrack end', () => {
  it('waits for a push held by the sink, so the end of the stream reaches the utterance flushed', async () => {
    const chunks: number[] = [];
    let release!: () => void;
    const backlog = new Promise<void>((resolve) => (release = resolve));
    let ended = -1;
    const sink: SpeechSink = {
      push: (pcm16k) => {
        chunks.push(pcm16k.length);
        // The segmenter is behind: the first chunk asks the caller to wait.
        return chunks.length === 1 ? backlog : undefined;
      },
      end: async () => void (ended = chunks.reduce((sum, n) => sum + n, 0)),
    };
    const track = new LiveTrack(sink);
    // Five frames with a hole before the last two: placing them takes three sink pushes, the first one held.
    const pushed = track.push([...frames(0, 3), ...frames(100, 2)], new Date().toISOString());
    await new Promise((resolve) => setTimeout(resolve, 10));
    const trackEnded = track.end(); // finalize ends the path while the push waits for the sink
    release();
    await pushed;
    await trackEnded;
    // Everything pushed reached the sink before its end: 140 ms of audio (the hole is silence), less nothing.
    expect(ended).toBe(chunks.reduce((sum, n) => sum + n, 0));
    expect(ended).toBeGreaterThanOrEqual((140 - 1) * 16);
  });
});

describe('onGrid', () => {
  it('is the start of the window holding the time, never before the origin', () => {
    expect(onGrid(100, 1000, 32)).toBe(996);
    expect(onGrid(100, 996, 32)).toBe(996);
    expect(onGrid(100, 50, 32)).toBe(100);
  });
});
