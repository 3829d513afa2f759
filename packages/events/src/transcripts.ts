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

const ms = z.number().int().min(0);

/** Whisper's own segments of a final: its timestamp tokens, in call time. */
export const TranscriptSegment = z.object({ startMs: ms, endMs: ms, text: text(10_000) });

/** A word of a final in call time, timed from the model's alignment heads (openai-whisper's method). */
export const TranscriptWord = z.object({
  /** As decoded: with its leading space and any punctuation merged into it. */
  text: text(10_000),
  startMs: ms,
  endMs: ms,
  /** Mean probability of the word's tokens. */
  probability: z.number().min(0).max(1),
});

/**
 * A span of personal data the transcriber redacted (TRANSCRIPT_REDACT): the text, segments and words carry its tag
 * (`[CARD]`, `[PHONE]`, ...) instead. `kind` is one of card, phone, email, ssn, iban (later versions may add kinds:
 * treat an unknown one as personal data all the same). Times in call time: the words' when the model times words,
 * else the Whisper segment's or the utterance's.
 */
export const TranscriptRedaction = z.object({
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  startMs: ms,
  endMs: ms,
});

/** Present (possibly empty) when redaction was on for the transcript, absent when it was off. */
const redactions = { redactions: z.array(TranscriptRedaction).max(1_000).optional() };

/**
 * What a final adds (transcripts.v1, additive): present on every final this version publishes, absent on finals
 * published before it. `words` only when the model can time words (a `_timestamped` export with alignment heads).
 */
const finalDetail = {
  /** ISO 639-1 code of the language decoded, configured or detected (Whisper also names `haw` and `yue`). */
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/)
    .optional(),
  /** Mean log-probability of the decoded tokens (Whisper's avg_logprob). */
  avgLogprob: z.number().max(0).optional(),
  /** Probability that the utterance holds no speech (Whisper's no_speech_prob). */
  noSpeechProb: z.number().min(0).max(1).optional(),
  segments: z.array(TranscriptSegment).max(1_000).optional(),
  words: z.array(TranscriptWord).max(5_000).optional(),
};

export const TranscriptPartial = z.object({
  type: z.literal('transcript.partial.v1'),
  final: z.literal(false),
  ...transcriptFields,
  ...redactions,
});
export const TranscriptFinal = z.object({
  type: z.literal('transcript.final.v1'),
  final: z.literal(true),
  ...transcriptFields,
  ...finalDetail,
  ...redactions,
});

export const TranscriptEvent = z.discriminatedUnion('type', [TranscriptPartial, TranscriptFinal]);
export type TranscriptEvent = z.infer<typeof TranscriptEvent>;
export type TranscriptSegment = z.infer<typeof TranscriptSegment>;
export type TranscriptWord = z.infer<typeof TranscriptWord>;
export type TranscriptRedaction = z.infer<typeof TranscriptRedaction>;
