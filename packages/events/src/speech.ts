import { z } from 'zod';
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
