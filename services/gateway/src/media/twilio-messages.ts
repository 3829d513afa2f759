import { z } from 'zod';
import { TRACKS, schemas, type Track } from '@calltx/events';

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
 * The fast path for a `media` message: recognises the exact bytes Twilio sends (its keys in its order, no
 * whitespace) and reads the frame from them without decoding the message to a string or building a parse tree
 * (a third of the CPU time of `JSON.parse` alone, measured in docs/benchmarks.md). It accepts only what
 * `JSON.parse` then `checkMediaMessage` would accept, with the same values; anything else (another key order,
 * escapes, spaces, a bad field) is `undefined`, and the caller takes the full path, which rejects and counts it
 * as before. `streamSid` is the stream's id as bytes.
 */
export function readTwilioMedia(data: Buffer, streamSid: Uint8Array): MediaFields | undefined {
  if (!has(data, 0, MEDIA_HEAD)) return undefined;
  let at = decimalEnd(data, MEDIA_HEAD.length);
  if (at < 0 || !has(data, at, TRACK_KEY)) return undefined;
  at += TRACK_KEY.length;
  let track: Track;
  if (has(data, at, INBOUND)) track = 'inbound';
  else if (has(data, at, OUTBOUND)) track = 'outbound';
  else return undefined;
  at += track.length;
  if (!has(data, at, CHUNK_KEY)) return undefined;
  at = decimalEnd(data, at + CHUNK_KEY.length);
  const chunk = decimalValue;
  if (at < 0 || chunk < 1 || !has(data, at, TIMESTAMP_KEY)) return undefined;
  at = decimalEnd(data, at + TIMESTAMP_KEY.length);
  const timestamp = decimalValue;
  if (at < 0 || !has(data, at, PAYLOAD_KEY)) return undefined;
  // The base64 alphabet, then at most two '=': what BASE64 matches, checked byte by byte.
  const start = at + PAYLOAD_KEY.length;
  let end = start;
  while (end < data.length && BASE64_BYTE[data[end]!] === 1) end += 1;
  if (data[end] === EQUALS) end += data[end + 1] === EQUALS ? 2 : 1;
  const length = end - start;
  if (length < 4 || length > MAX_FRAME_PAYLOAD_CHARS || length % 4 !== 0) return undefined;
  if (!has(data, end, STREAM_SID_KEY)) return undefined;
  at = end + STREAM_SID_KEY.length;
  if (
    data.length !== at + streamSid.length + 2 ||
    !has(data, at, streamSid) ||
    !has(data, data.length - 2, CLOSE)
  )
    return undefined;
  return { track, chunk, timestamp, payload: data.toString('latin1', start, end) };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const MEDIA_HEAD = bytes('{"event":"media","sequenceNumber":"');
const TRACK_KEY = bytes('","media":{"track":"');
const INBOUND = bytes('inbound');
const OUTBOUND = bytes('outbound');
const CHUNK_KEY = bytes('","chunk":"');
const TIMESTAMP_KEY = bytes('","timestamp":"');
const PAYLOAD_KEY = bytes('","payload":"');
const STREAM_SID_KEY = bytes('"},"streamSid":"');
const CLOSE = bytes('"}');
const EQUALS = 0x3d;
const BASE64_BYTE = new Uint8Array(256);
for (const c of bytes('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')) BASE64_BYTE[c] = 1;

/** Whether `token` is at `at` in `data`. */
function has(data: Uint8Array, at: number, token: Uint8Array): boolean {
  if (at + token.length > data.length) return false;
  for (let i = 0; i < token.length; i += 1) if (data[at + i] !== token[i]) return false;
  return true;
}

/** The value of the last decimalEnd's digits: a module variable, so the hot path returns no pair object. */
let decimalValue = 0;

/** Where a run of 1–12 ASCII digits starting at `from` ends (its value in decimalValue); -1 if there is none. */
function decimalEnd(data: Uint8Array, from: number): number {
  let at = from;
  let value = 0;
  for (let c = data[at]; c !== undefined && c >= 0x30 && c <= 0x39; c = data[at]) {
    value = value * 10 + c - 0x30;
    at += 1;
  }
  decimalValue = value;
  return at > from && at - from <= 12 ? at : -1;
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
