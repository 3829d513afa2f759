import { z } from 'zod';
import { TRACKS, schemas } from '@calltx/shared';

/** Media Streams WebSocket messages as Twilio documents them (numbers arrive as strings). */
const numeric = z
  .string()
  .regex(/^\d{1,12}$/)
  .transform(Number);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const MAX_FRAME_PAYLOAD_CHARS = 8_192;

export const ConnectedMessage = z.object({
  event: z.literal('connected'),
  protocol: z.string().max(64),
  version: z.string().max(32),
});

export const StartMessage = z.object({
  event: z.literal('start'),
  sequenceNumber: numeric,
  streamSid: schemas.streamSid,
  start: z.object({
    accountSid: schemas.accountSid,
    streamSid: schemas.streamSid,
    callSid: schemas.callSid,
    tracks: z.array(z.enum(TRACKS)).min(1).max(2),
    customParameters: z.record(z.string().max(256), z.string().max(1024)).default({}),
    mediaFormat: z.object({
      encoding: z.literal('audio/x-mulaw'),
      sampleRate: z.literal(8000),
      channels: z.literal(1),
    }),
  }),
});

export const MediaMessage = z.object({
  event: z.literal('media'),
  sequenceNumber: numeric,
  streamSid: schemas.streamSid,
  media: z.object({
    track: z.enum(TRACKS),
    chunk: numeric.pipe(z.number().min(1)),
    timestamp: numeric,
    payload: z
      .string()
      .min(4)
      .max(MAX_FRAME_PAYLOAD_CHARS)
      .refine((p) => p.length % 4 === 0 && BASE64.test(p), 'payload must be base64'),
  }),
});

export const StopMessage = z.object({
  event: z.literal('stop'),
  sequenceNumber: numeric,
  streamSid: schemas.streamSid,
  stop: z.object({ accountSid: schemas.accountSid, callSid: schemas.callSid }),
});

export const DtmfMessage = z.object({
  event: z.literal('dtmf'),
  sequenceNumber: numeric,
  streamSid: schemas.streamSid,
  dtmf: z.object({ track: z.string().max(32), digit: z.string().regex(/^[0-9*#A-Dw]$/) }),
});

export const MarkMessage = z.object({
  event: z.literal('mark'),
  sequenceNumber: numeric,
  streamSid: schemas.streamSid,
  mark: z.object({ name: z.string().max(256) }),
});

export const TWILIO_EVENTS = ['connected', 'start', 'media', 'stop', 'dtmf', 'mark'] as const;
