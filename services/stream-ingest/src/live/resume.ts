import { WAV_HEADER_BYTES, encodeMulaw } from '@calltx/audio';
import type { ObjectStore } from '@calltx/storage';
import { listParts } from '../finalize/call-wavs.js';
import { framesInOrder, type UnreadablePart } from '../finalize/merge.js';
import { FRAME_BYTES, SAMPLES_PER_MS, type Frame } from '../frames/frame.js';
import { onGrid, type LiveTrack } from './live-track.js';
import type { LiveProgress } from './speech-sink.js';

const FRAME_MS = FRAME_BYTES / SAMPLES_PER_MS;
const REPLAY_BATCH_FRAMES = 50;

export interface LiveResumeSettings {
  /** The segmenter's VAD window: a resumed path starts on the same window grid as an uninterrupted one. */
  windowMs: number;
  /** How far before the end of the stored audio replay may start at most (the longest utterance, and margin). */
  lookbackMs: number;
}

export interface LiveResumeOptions {
  store: ObjectStore;
  callSid: string;
  speaker: string;
  live: LiveTrack;
  /** The last final published for the speaker, if any. */
  after: LiveProgress | undefined;
  settings: LiveResumeSettings;
  /** False once the claim is lost: stop replaying. */
  mayContinue: () => boolean;
  unreadable: UnreadablePart;
}

/**
 * Puts a taken-over speaker's live path back where the utterance in progress began: the stored parts hold every
 * frame acknowledged so far, so the path restarts at the end of the last final published (or, with no final for
 * longer than an utterance can last, that far before the stored end) and replays the stored audio from there.
 * The consumer's frames follow; the live track skips those the replay already covered. The start is on the VAD
 * window grid of an uninterrupted path (which began at the speaker's first frame), so the segmenter cuts the
 * same windows it would have. Returns the call time the path starts at, or null when nothing is stored yet (the
 * path then starts on that grid at the first frame the consumer delivers).
 */
export async function resumeLivePath(options: LiveResumeOptions): Promise<number | null> {
  const { store, callSid, speaker, live, after, settings } = options;
  const parts = await listParts(store, callSid, speaker);
  if (parts.length === 0) {
    // Nothing acknowledged yet: the consumer delivers from the speaker's first frame, which a final may already
    // have covered (finals can be published before the first part is stored).
    if (after) live.startOnGridAt(after.endMs, settings.windowMs);
    return null;
  }
  const origin = Math.min(...parts.map((part) => part.firstTs));
  const storedEnd = Math.max(...parts.map((part) => part.lastTs + FRAME_MS));
  const wanted = Math.max(after?.endMs ?? origin, storedEnd - settings.lookbackMs);
  const startMs = onGrid(origin, wanted, settings.windowMs);
  live.startAt(startMs);

  // The frames were received before the crash; when exactly is not stored, so replayed audio counts as just received.
  const audioEndAt = new Date().toISOString();
  const replayed = parts.filter((part) => part.lastTs + FRAME_MS > startMs);
  let batch: Frame[] = [];
  for await (const frame of framesInOrder(replayed, (key) => store.getBuffer(key), options.unreadable)) {
    if (!options.mayContinue()) return startMs;
    batch.push(frame);
    if (batch.length < REPLAY_BATCH_FRAMES) continue;
    await live.push(batch, audioEndAt);
    batch = [];
  }
  if (batch.length > 0) await live.push(batch, audioEndAt);
  return startMs;
}

export interface StoredReplayOptions {
  store: ObjectStore;
  /** The speaker's stored 8 kHz WAV (as the finalizer writes it: PCM right after a 44-byte header). */
  wavKey: string;
  live: LiveTrack;
  /** Call time to replay from and to (clamped to whole milliseconds of the file). */
  fromMs: number;
  toMs: number;
}

/** Bytes of 8 kHz PCM read from the store at once: 10 s. */
const WAV_READ_BYTES = 10_000 * SAMPLES_PER_MS * 2;

/**
 * Replays a span of a finalized call's stored audio through a live path, then ends it: the parts are gone once
 * the call is finalized, and its 8 kHz WAV holds the same frames (merged from them, holes as silence, which the
 * live path fills in just the same). The PCM is mu-law decoded audio, so encoding it again gives the frames back.
 */
export async function replayStoredAudio(options: StoredReplayOptions): Promise<void> {
  const { store, wavKey, live } = options;
  const fromMs = Math.floor(options.fromMs);
  const toMs = Math.max(fromMs, Math.ceil(options.toMs));
  live.startAt(fromMs);
  // The frames were received long ago; the replay counts as just received, as a takeover's does.
  const audioEndAt = new Date().toISOString();
  const end = WAV_HEADER_BYTES + toMs * SAMPLES_PER_MS * 2;
  try {
    for (
      let offset = WAV_HEADER_BYTES + fromMs * SAMPLES_PER_MS * 2;
      offset < end;
      offset += WAV_READ_BYTES
    ) {
      const bytes = await store.getRange(wavKey, offset, Math.min(WAV_READ_BYTES, end - offset));
      const pcm = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
      const mulaw = encodeMulaw(pcm);
      const startMs = (offset - WAV_HEADER_BYTES) / (SAMPLES_PER_MS * 2);
      const frames: Frame[] = [];
      for (let i = 0; i < mulaw.length; i += FRAME_BYTES)
        frames.push({
          timestampMs: startMs + i / SAMPLES_PER_MS,
          payload: mulaw.subarray(i, i + FRAME_BYTES),
        });
      await live.push(frames, audioEndAt);
    }
  } finally {
    await live.end();
  }
}
