import { z } from 'zod';
import { TRACKS, schemas, type Track } from '@calltx/shared';

/** Media Streams WebSocket messages as Twilio documents them (numbers arrive as strings). */
const DECIMAL = /^\d{1,12}$/;
const numeric = z.string().regex(DECIMAL).transform(Number);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const MAX_FRAME_PAYLOAD_CHARS = 8_192;

export const ConnectedMessage = z.object({
  event: z.literal('connected'),
  protocol: schemas.text(64),
  version: schemas.text(32),
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
    customParameters: z.record(schemas.text(256), schemas.text(1024)).default({}),
    mediaFormat: z.object({
      encoding: z.literal('audio/x-mulaw'),
      sampleRate: z.literal(8000),
      channels: z.literal(1),
    }),
  }),
});

export interface MediaFields {
  track: Track;
  chunk: number;
  timestamp: number;
  payload: string;
}

/**
 * Checks a `media` message by hand instead of with a zod schema, to the same rules: it is nearly all of the
 * traffic, and the schema's parse and output copy were measured at 2–4 % of the gateway's CPU (docs/benchmarks.md).
 * `streamSid` must equal the one `start` announced (validated there). Returns the frame, or what is wrong.
 */
export function checkMediaMessage(message: object, streamSid: string): MediaFields | string {
  const { sequenceNumber, media } = message as { sequenceNumber?: unknown; media?: unknown };
  if ((message as { streamSid?: unknown }).streamSid !== streamSid) return 'streamSid: differs from start';
  if (Number.isNaN(decimal(sequenceNumber))) return 'sequenceNumber: must be a decimal string';
  if (typeof media !== 'object' || media === null) return 'media: must be an object';
  const { track, chunk, timestamp, payload } = media as Record<string, unknown>;
  if (!TRACKS.includes(track as Track)) return 'media.track: must be inbound or outbound';
  const chunkNumber = decimal(chunk);
  if (!(chunkNumber >= 1)) return 'media.chunk: must be a decimal string ≥ 1';
  const timestampMs = decimal(timestamp);
  if (Number.isNaN(timestampMs)) return 'media.timestamp: must be a decimal string';
  if (typeof payload !== 'string' || !isBase64Payload(payload)) return 'media.payload: must be base64';
  return { track: track as Track, chunk: chunkNumber, timestamp: timestampMs, payload };
}

/**
 * The fast path for a `media` message: recognises the exact text Twilio sends (its keys in its order, no
 * whitespace) and reads the frame from it without building a parse tree. It accepts only what `JSON.parse` then
 * `checkMediaMessage` would accept, with the same values; anything else (another key order, escapes, spaces,
 * a bad field) is `undefined`, and the caller takes the full path, which rejects and counts it as before.
 * `text` is the message as latin1, so a non-ASCII byte can't pass for one of the ASCII tokens.
 */
export function readTwilioMedia(text: string, streamSid: string): MediaFields | undefined {
  if (!text.startsWith(MEDIA_HEAD)) return undefined;
  let at = MEDIA_HEAD.length;
  const sequenceEnd = digitsEnd(text, at);
  if (sequenceEnd === at || sequenceEnd - at > 12 || !text.startsWith(TRACK_KEY, sequenceEnd))
    return undefined;
  at = sequenceEnd + TRACK_KEY.length;
  let track: Track;
  if (text.startsWith('inbound', at)) track = 'inbound';
  else if (text.startsWith('outbound', at)) track = 'outbound';
  else return undefined;
  at += track.length;
  if (!text.startsWith(CHUNK_KEY, at)) return undefined;
  at += CHUNK_KEY.length;
  const chunkEnd = digitsEnd(text, at);
  if (chunkEnd === at || chunkEnd - at > 12 || !text.startsWith(TIMESTAMP_KEY, chunkEnd)) return undefined;
  const chunk = Number(text.slice(at, chunkEnd));
  at = chunkEnd + TIMESTAMP_KEY.length;
  const timestampEnd = digitsEnd(text, at);
  if (timestampEnd === at || timestampEnd - at > 12 || !text.startsWith(PAYLOAD_KEY, timestampEnd))
    return undefined;
  const timestamp = Number(text.slice(at, timestampEnd));
  at = timestampEnd + PAYLOAD_KEY.length;
  const payloadEnd = text.indexOf('"', at);
  if (payloadEnd < 0 || !text.startsWith(STREAM_SID_KEY, payloadEnd)) return undefined;
  const tail = payloadEnd + STREAM_SID_KEY.length;
  if (
    text.length !== tail + streamSid.length + 2 ||
    !text.startsWith(streamSid, tail) ||
    !text.endsWith('"}')
  )
    return undefined;
  const payload = text.slice(at, payloadEnd);
  if (chunk < 1 || !isBase64Payload(payload)) return undefined;
  return { track, chunk, timestamp, payload };
}

const MEDIA_HEAD = '{"event":"media","sequenceNumber":"';
const TRACK_KEY = '","media":{"track":"';
const CHUNK_KEY = '","chunk":"';
const TIMESTAMP_KEY = '","timestamp":"';
const PAYLOAD_KEY = '","payload":"';
const STREAM_SID_KEY = '"},"streamSid":"';

/** Where the run of ASCII digits starting at `from` ends. */
function digitsEnd(text: string, from: number): number {
  let at = from;
  for (let c = text.charCodeAt(at); c >= 48 && c <= 57; c = text.charCodeAt(at)) at += 1;
  return at;
}

const isBase64Payload = (payload: string): boolean =>
  payload.length >= 4 &&
  payload.length <= MAX_FRAME_PAYLOAD_CHARS &&
  payload.length % 4 === 0 &&
  BASE64.test(payload);

/** The value of a string of 1–12 decimal digits (Twilio sends numbers as strings); NaN for anything else. */
const decimal = (value: unknown): number =>
  typeof value === 'string' && DECIMAL.test(value) ? Number(value) : NaN;

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
  dtmf: z.object({ track: schemas.text(32), digit: z.string().regex(/^[0-9*#A-Dw]$/) }),
});

export const MarkMessage = z.object({
  event: z.literal('mark'),
  sequenceNumber: numeric,
  streamSid: schemas.streamSid,
  mark: z.object({ name: schemas.text(256) }),
});

export const TWILIO_EVENTS = ['connected', 'start', 'media', 'stop', 'dtmf', 'mark'] as const;
