import { z } from 'zod';
import { TRACKS } from './subjects.js';
import { callSid, isoTime, speaker, streamSid } from './common.js';

/**
 * One message per track carrying the frames the gateway received within MEDIA_FLUSH_MS, in receive order.
 * `payload` is Twilio's base64 mu-law exactly as received; consumers place frames by `timestampMs`.
 */
export const MediaFrames = z.object({
  type: z.literal('media.frames.v1'),
  callSid,
  streamSid,
  track: z.enum(TRACKS),
  speaker,
  receivedAt: isoTime,
  frames: z
    .array(
      z.object({
        chunk: z.number().int().min(1),
        timestampMs: z.number().int().min(0),
        payload: z.string().max(16_384),
      }),
    )
    .min(1)
    .max(1000),
});
export type MediaFrames = z.infer<typeof MediaFrames>;
