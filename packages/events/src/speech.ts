import { z } from 'zod';
import { ERASURE_SERVICES } from './subjects.js';
import { callSid, isoTime, recordingSid, speaker, text } from './common.js';

/**
 * Internal: one live utterance (speech only, found by VAD) for the transcriber. A `partial` carries the
 * utterance so far and may be dropped when the transcriber is behind; the `final` carries the whole utterance
 * and is never dropped. `pcm` is 16 kHz mono signed 16-bit little-endian, base64.
 */
export const SpeechSegment = z.object({
  type: z.literal('audio.segment.v1'),
  callSid,
  speaker,
  segmentId: text(128).min(1),
  /** Per call and speaker: the order of utterances. */
  sequence: z.number().int().min(0),
  final: z.boolean(),
  startMs: z.number().int().min(0),
  endMs: z.number().int().min(0),
  sampleRate: z.literal(16000),
  pcm: z.string().max(1_000_000),
  /** When the last sample of this audio was received by the gateway: the origin of transcript latency. */
  audioEndAt: isoTime,
  /**
   * A live final published again by stream-ingest's live-finals audit (its attempt, from 1): no live transcript
   * final of it was found, so a transcript already stored is republished under an id of its own.
   */
  reissue: z.number().int().min(1).optional(),
});
export type SpeechSegment = z.infer<typeof SpeechSegment>;

/** Internal: transcribe one stored mono channel of a recording, after the call, at low priority. */
export const TranscriptionJob = z.object({
  type: z.literal('transcription.job.v1'),
  callSid,
  speaker,
  recordingSid,
  objectKey: text(1024).min(1),
  sampleRate: z.number().int().min(8000).max(48000),
  durationMs: z.number().int().min(0),
});
export type TranscriptionJob = z.infer<typeof TranscriptionJob>;

/** Internal: erase one call everywhere (the api asks, on `DELETE /calls/{callSid}` or for retention). */
export const ErasureRequested = z.object({
  type: z.literal('erasure.requested.v1'),
  callSid,
  requestedAt: isoTime,
});
export type ErasureRequested = z.infer<typeof ErasureRequested>;

/** Internal: one service holds nothing of the call any more (rows, objects), only its tombstone. */
export const ErasureDone = z.object({
  type: z.literal('erasure.done.v1'),
  callSid,
  service: z.enum(ERASURE_SERVICES),
  at: isoTime,
});
export type ErasureDone = z.infer<typeof ErasureDone>;
