import { Upsampler2x, decodeMulaw } from '@calltx/audio';
import { SAMPLES_PER_MS, type Frame } from '../frames/frame.js';
import type { SpeechSink } from './speech-sink.js';

/**
 * The live path of one speaker: frames placed on call time by timestamp (gaps become silence, frames that are
 * late or repeated are skipped), decoded, upsampled to 16 kHz with one stateful upsampler, and handed on in
 * order. It starts at the first frame it sees, or where `startAt` says (a takeover resumes at a chosen point).
 */
export class LiveTrack {
  /** Next 8 kHz sample index; -1 until the first frame. */
  private cursor = -1;
  /** 16 kHz samples handed on so far, counted from 2 × the starting cursor. */
  private emitted = 0;
  private origin = 0;
  private readonly upsampler = new Upsampler2x();
  private lastAudioEndAt = new Date(0).toISOString();
  private ended = false;
  private ending: Promise<void> | undefined;
  /** The push under way, if any (pushes are placed one after another). */
  private pushing: Promise<void> = Promise.resolve();
  /** Set by startOnGridAt: where the path starts, once the first frame says where the grid begins. */
  private gridStart: { atMs: number; windowMs: number } | undefined;

  constructor(private readonly sink: SpeechSink) {}

  /** Starts the path at call time `ms` (before any push): earlier audio is skipped, later gaps are silence. */
  startAt(ms: number): void {
    this.cursor = ms * SAMPLES_PER_MS;
    this.origin = 2 * this.cursor;
  }

  /**
   * Starts the path at the window of the grid (counted from the first frame it will see) that holds call time
   * `atMs`: a resumed path whose audio is all still to come cuts the same windows an uninterrupted one did.
   */
  startOnGridAt(atMs: number, windowMs: number): void {
    this.gridStart = { atMs, windowMs };
  }

  /**
   * Resolves when the sink can take more. A push can wait halfway for the sink (its backlog); `end` waits for it,
   * so that the audio the push still holds is in the utterance end flushes.
   */
  push(frames: readonly Frame[], audioEndAt: string): Promise<void> {
    const pushed = this.pushing.then(() => this.place(frames, audioEndAt));
    this.pushing = pushed.catch(() => undefined);
    return pushed;
  }

  private async place(frames: readonly Frame[], audioEndAt: string): Promise<void> {
    if (this.ended) return;
    this.lastAudioEndAt = audioEndAt;
    for (const frame of frames) {
      const start = frame.timestampMs * SAMPLES_PER_MS;
      const end = start + frame.payload.length;
      if (this.cursor < 0) {
        const { atMs, windowMs } = this.gridStart ?? { atMs: frame.timestampMs, windowMs: 1 };
        this.startAt(onGrid(frame.timestampMs, atMs, windowMs));
      }
      if (end <= this.cursor) continue;
      if (start > this.cursor) await this.forward(new Int16Array(start - this.cursor), audioEndAt);
      await this.forward(decodeMulaw(frame.payload.subarray(this.cursor - start)), audioEndAt);
    }
  }

  /**
   * Flushes the upsampler and the sink once pushes under way are placed: the stream is over. Resolves when the sink
   * has ended (every final published and recorded); later calls return the same promise.
   */
  end(): Promise<void> {
    this.ending ??= this.pushing.then(() => {
      this.ended = true;
      if (this.cursor >= 0) void this.emit(this.upsampler.flush(), this.lastAudioEndAt);
      return this.sink.end();
    });
    return this.ending;
  }

  private forward(pcm8k: Int16Array, audioEndAt: string): Promise<void> | undefined {
    this.cursor += pcm8k.length;
    return this.emit(this.upsampler.process(pcm8k), audioEndAt);
  }

  private emit(pcm16k: Int16Array, audioEndAt: string): Promise<void> | undefined {
    if (pcm16k.length === 0) return undefined;
    const offsetMs = (this.origin + this.emitted) / (2 * SAMPLES_PER_MS);
    this.emitted += pcm16k.length;
    return this.sink.push(pcm16k, offsetMs, audioEndAt);
  }
}

/** The start of the `windowMs` window, on the grid that begins at `originMs`, holding `atMs` (never before the origin). */
export function onGrid(originMs: number, atMs: number, windowMs: number): number {
  return originMs + Math.max(0, Math.floor((atMs - originMs) / windowMs)) * windowMs;
}
