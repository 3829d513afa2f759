import { VAD_WINDOW_SAMPLES } from '../vad/silero-vad.js';

export interface SegmenterOptions {
  /** Names the stream (e.g. call and speaker); segment ids are derived from it. */
  streamId: string;
  /** Speech starts at a window whose probability is at least this. Default 0.5. */
  startThreshold?: number;
  /** Inside an utterance, a window below this is silence. Default 0.35. */
  endThreshold?: number;
  /** Utterances whose speech spans less than this are dropped. Default 250. */
  minSpeechMs?: number;
  /** Silence that ends an utterance. Default 500. */
  minSilenceMs?: number;
  /** Audio kept before the first and after the last speech window. Default 200. */
  speechPadMs?: number;
  /** Longest utterance (padding included); longer speech is split into consecutive segments. Default 20000. */
  maxUtteranceMs?: number;
  /** A pause at least this long inside an over-long utterance is where it is split. Default 100. */
  minSplitPauseMs?: number;
  /** A partial event every this much utterance audio; 0 turns partials off. Default 1000. */
  partialIntervalMs?: number;
}

export const SEGMENTER_DEFAULTS = {
  startThreshold: 0.5,
  endThreshold: 0.35,
  minSpeechMs: 250,
  minSilenceMs: 500,
  speechPadMs: 200,
  maxUtteranceMs: 20_000,
  minSplitPauseMs: 100,
  partialIntervalMs: 1000,
} as const satisfies Required<Omit<SegmenterOptions, 'streamId'>>;

export const SAMPLES_PER_MS = 16;

/** The options in samples at 16 kHz, checked. */
export interface SegmenterSettings {
  readonly streamId: string;
  readonly startThreshold: number;
  readonly endThreshold: number;
  readonly minSpeech: number;
  readonly minSilence: number;
  readonly pad: number;
  readonly maxUtterance: number;
  readonly minSplitPause: number;
  /** 0: no partials. */
  readonly partialInterval: number;
}

export function settingsFrom(options: SegmenterOptions): SegmenterSettings {
  const o = { ...SEGMENTER_DEFAULTS, ...options };
  const samples = (name: keyof typeof SEGMENTER_DEFAULTS, ms: number) => {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`${name} must be a finite number ≥ 0, got ${ms}`);
    return Math.round(ms * SAMPLES_PER_MS);
  };
  if (!(o.endThreshold > 0 && o.endThreshold <= o.startThreshold && o.startThreshold < 1)) {
    throw new RangeError(
      `need 0 < endThreshold ≤ startThreshold < 1, got ${o.endThreshold} and ${o.startThreshold}`,
    );
  }
  const settings: SegmenterSettings = {
    streamId: o.streamId,
    startThreshold: o.startThreshold,
    endThreshold: o.endThreshold,
    minSpeech: samples('minSpeechMs', o.minSpeechMs),
    minSilence: samples('minSilenceMs', o.minSilenceMs),
    pad: samples('speechPadMs', o.speechPadMs),
    maxUtterance: samples('maxUtteranceMs', o.maxUtteranceMs),
    minSplitPause: samples('minSplitPauseMs', o.minSplitPauseMs),
    partialInterval: samples('partialIntervalMs', o.partialIntervalMs),
  };
  // An utterance that reaches its maximum must already hold confirmed speech, so a split never drops audio.
  const shortestSplittable = settings.pad + settings.minSpeech + settings.minSilence + VAD_WINDOW_SAMPLES;
  if (settings.maxUtterance < shortestSplittable) {
    throw new RangeError(
      `maxUtteranceMs must be at least speechPadMs + minSpeechMs + minSilenceMs + one 32 ms VAD window ` +
        `(${shortestSplittable / SAMPLES_PER_MS}), got ${o.maxUtteranceMs}`,
    );
  }
  return settings;
}
