import { z } from 'zod';
import { TRACKS } from './subjects.js';
import { PartyNumber } from './caller-numbers.js';
import { accountSid, callSid, isoTime, party, speaker, streamSid, text } from './common.js';

const base = { callSid, at: isoTime };
const frameCounts = z.object({ inbound: z.number().int().min(0), outbound: z.number().int().min(0) });

/** Most characters of a call's transcription hints: Whisper keeps at most 223 prompt tokens anyway. */
export const HINTS_MAX_LENGTH = 1_000;

export const CallStarted = z.object({
  type: z.literal('call.started.v1'),
  ...base,
  accountSid,
  /**
   * The calling and called parties as Twilio gave them when they are not phone numbers (a browser client such as
   * `client:alice`, a SIP address). Since 0.4.0 a phone number is never published here in clear: the field is then
   * empty and the number is in `fromNumber` / `toNumber`. Events published before 0.4.0 may hold numbers here.
   */
  from: party,
  to: party,
  /** The calling party's phone number as a keyed hash and its last two digits (added in 0.4.0), when it is one. */
  fromNumber: PartyNumber.optional(),
  /** The called party's phone number as a keyed hash and its last two digits (added in 0.4.0), when it is one. */
  toNumber: PartyNumber.optional(),
  direction: text(64),
  /**
   * Language of the call's speech for transcription, one of WHISPER_LANGUAGES (ISO 639-1 where one exists), as the
   * caller asked (added in 0.3.0). Absent: the transcriber's default (WHISPER_LANGUAGE, else detection).
   */
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/)
    .optional(),
  /**
   * Vocabulary and spelling hints for the call's transcription, given to Whisper as its previous-text prompt
   * (added in 0.3.0). Absent: the transcriber's default (WHISPER_PROMPT).
   */
  hints: text(HINTS_MAX_LENGTH).min(1).optional(),
});

/** Twilio's call status callback (the TwiML App's status callback URL). */
export const CallStatusChanged = z.object({
  type: z.literal('call.status.v1'),
  ...base,
  status: text(32),
  durationSeconds: z.number().int().min(0).optional(),
  sequenceNumber: z.number().int().min(0).optional(),
});

export const CallEnded = z.object({
  type: z.literal('call.ended.v1'),
  ...base,
  status: text(32),
  durationSeconds: z.number().int().min(0).optional(),
});

export const StreamStarted = z.object({
  type: z.literal('call.stream-started.v1'),
  ...base,
  streamSid,
  accountSid,
  tracks: z.array(z.enum(TRACKS)),
  speakers: z.object({ inbound: speaker, outbound: speaker }),
  mediaFormat: z.object({ encoding: text(64), sampleRate: z.number().int(), channels: z.number().int() }),
  customParameters: z.record(text(256), text(1024)),
});

/**
 * Published when the gateway has published every frame it received for the stream. `framesReceived` and
 * `lastTimestampMs` let consumers know when they hold the whole stream.
 */
export const StreamStopped = z.object({
  type: z.literal('call.stream-stopped.v1'),
  ...base,
  streamSid,
  reason: z.enum(['stop', 'socket-closed', 'shutdown']),
  framesReceived: frameCounts,
  framesLost: frameCounts,
  lastTimestampMs: z.object({ inbound: z.number().int().min(-1), outbound: z.number().int().min(-1) }),
});

/** Twilio's `<Stream statusCallback>` request. */
export const StreamStatus = z.object({
  type: z.literal('call.stream-status.v1'),
  ...base,
  streamSid,
  streamEvent: text(32),
  streamName: text(256).optional(),
  streamError: text(1024).optional(),
});

export const Dtmf = z.object({
  type: z.literal('call.dtmf.v1'),
  ...base,
  streamSid,
  track: text(32),
  digit: text(8),
});

export const Mark = z.object({
  type: z.literal('call.mark.v1'),
  ...base,
  streamSid,
  name: text(256),
});

export const AudioStored = z.object({
  type: z.literal('call.audio-stored.v1'),
  ...base,
  files: z.array(
    z.object({
      speaker,
      sampleRate: z.number().int(),
      key: text(1024),
      bytes: z.number().int().min(0),
      durationMs: z.number().int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
  gapFilledMs: z.record(speaker, z.number().int().min(0)),
});

/**
 * The call was erased everywhere (added in 0.4.0): its objects, rows and stream messages are gone. Consumers forget
 * the call too (caches, read models, copies). Nothing of the call is published after it.
 */
export const CallErased = z.object({
  type: z.literal('call.erased.v1'),
  ...base,
});

export const CallEvent = z.discriminatedUnion('type', [
  CallStarted,
  CallStatusChanged,
  CallEnded,
  StreamStarted,
  StreamStopped,
  StreamStatus,
  Dtmf,
  Mark,
  AudioStored,
  CallErased,
]);
export type CallEvent = z.infer<typeof CallEvent>;
