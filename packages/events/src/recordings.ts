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
  objects: z.array(
    z.object({
      role: z.union([z.literal('dual'), speaker]),
      key: text(1024),
      bytes: z.number().int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

export const RecordingEvent = z.discriminatedUnion('type', [RecordingStatusChanged, RecordingStored]);
export type RecordingEvent = z.infer<typeof RecordingEvent>;
