import { z } from 'zod';
import { accountSid, callSid, isoTime, recordingSid, speaker, text } from './common.js';

/** Twilio's recordingStatusCallback request, as received (the URL is kept for reference, never fetched). */
export const RecordingStatusChanged = z.object({
  type: z.literal('recording.status.v1'),
  callSid,
  at: isoTime,
  accountSid,
  recordingSid,
  status: z.enum(['in-progress', 'completed', 'absent', 'failed']),
  recordingUrl: text(2048).optional(),
  durationSeconds: z.number().int().min(0).optional(),
  channels: z.number().int().min(1).max(2).optional(),
  source: text(64).optional(),
  startTime: text(64).optional(),
  errorCode: text(16).optional(),
});
export type RecordingStatusChanged = z.infer<typeof RecordingStatusChanged>;

export const RecordingStored = z.object({
  type: z.literal('recording.stored.v1'),
  callSid,
  at: isoTime,
  recordingSid,
  durationMs: z.number().int().min(0),
  /** Channels of the archived recording (added in 0.2.0; absent from earlier events, which were all 2). */
  channels: z.number().int().min(1).max(2).optional(),
  objects: z.array(
    z.object({
      role: z.union([z.literal('dual'), speaker]),
      key: text(1024),
      bytes: z.number().int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** The recording's channel this file holds, null for the dual-channel file (added in 0.2.0). */
      channel: z
        .union([z.literal(1), z.literal(2)])
        .nullable()
        .optional(),
      /** Length of this file's audio (added in 0.2.0). */
      durationMs: z.number().int().min(0).optional(),
    }),
  ),
});

/**
 * The recording-fetcher gave up on a recording Twilio reported completed (download failed for good, too large,
 * …), on `recordings.v1.<CallSid>.failed`. Twilio's own `failed` is a `recording.status.v1`. A later `stored` of
 * the same recording supersedes it.
 */
export const RecordingFetchFailed = z.object({
  type: z.literal('recording.fetch-failed.v1'),
  callSid,
  at: isoTime,
  recordingSid,
  errorCode: text(64),
  errorMessage: text(1000),
});

export const RecordingEvent = z.discriminatedUnion('type', [
  RecordingStatusChanged,
  RecordingStored,
  RecordingFetchFailed,
]);
export type RecordingEvent = z.infer<typeof RecordingEvent>;
