import { z } from 'zod';
import { callSid, isoTime, speaker, text } from './common.js';

const transcriptFields = {
  callSid,
  speaker,
  /** Stable id of the utterance: partials and the final of one utterance share it. */
  segmentId: text(128).min(1),
  /** Per call and speaker, increasing with startMs: subscribers order finals by it. */
  sequence: z.number().int().min(0),
  startMs: z.number().int().min(0),
  endMs: z.number().int().min(0),
  text: text(10_000),
  source: z.enum(['live', 'recording']),
  modelId: text(256),
  timing: z.object({
    audioEndAt: isoTime,
    publishedAt: isoTime,
    latencyMs: z.number().min(0),
  }),
};

export const TranscriptPartial = z.object({
  type: z.literal('transcript.partial.v1'),
  final: z.literal(false),
  ...transcriptFields,
});
export const TranscriptFinal = z.object({
  type: z.literal('transcript.final.v1'),
  final: z.literal(true),
  ...transcriptFields,
});

export const TranscriptEvent = z.discriminatedUnion('type', [TranscriptPartial, TranscriptFinal]);
export type TranscriptEvent = z.infer<typeof TranscriptEvent>;
