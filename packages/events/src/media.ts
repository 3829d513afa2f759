import { z } from 'zod';
import { decodeEvent } from './codec.js';
import { InvalidMessageError } from './errors.js';
import { CALL_SID_PATTERN, TRACKS, type Track } from './subjects.js';
import { SPEAKER_PATTERN, STREAM_SID_PATTERN, callSid, isoTime, speaker, streamSid } from './common.js';

/**
 * One message per track carrying the frames the gateway received within MEDIA_FLUSH_MS, in receive order.
 * `payload` is Twilio's base64 mu-law exactly as received; consumers place frames by `timestampMs`.
 * Superseded by `media.frames.v2` (binary, below); still read during a rolling upgrade.
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

/**
 * `media.frames.v2`: the same batch as v1 in a binary body, with the mu-law bytes as they are (decoded from
 * Twilio's base64 once, in the gateway). Little-endian; layout in docs/api/internal-media.md:
 *
 *   u8 format (2) · u8 track (0 inbound, 1 outbound) · u8 length + callSid · u8 length + streamSid ·
 *   u8 length + speaker · u48 receivedAt (ms since the epoch) · u16 frame count ·
 *   per frame: u48 chunk · u48 timestampMs · u16 payload length · payload (mu-law bytes)
 *
 * A v1 body is JSON and starts with `{` (0x7B), so the first byte tells the versions apart.
 */
export const MEDIA_FRAMES_V2 = 2;
export const MEDIA_V2_MAX_FRAMES = 1000;
/** Twilio's base64 payload is at most 16 384 characters in v1: 12 288 bytes. */
export const MEDIA_V2_MAX_PAYLOAD_BYTES = 12_288;
export const MEDIA_V2_FRAME_HEADER_BYTES = 14;

export interface MediaFramesV2 {
  type: 'media.frames.v2';
  callSid: string;
  streamSid: string;
  track: Track;
  speaker: string;
  receivedAt: string;
  frames: Array<{ chunk: number; timestampMs: number; payload: Uint8Array }>;
}

/** Either version as a consumer reads it: v1 payloads are base64 text, v2 payloads bytes. */
export type MediaBatch = MediaFrames | MediaFramesV2;

const utf8 = new TextEncoder();
const latin1 = new TextDecoder('latin1');

/** The fixed part of a v2 body for one track, up to and excluding receivedAt; reused for every batch. */
export function mediaFramesV2Head(identity: {
  callSid: string;
  streamSid: string;
  track: Track;
  speaker: string;
}): Uint8Array {
  const fields = [identity.callSid, identity.streamSid, identity.speaker].map((s) => utf8.encode(s));
  const head = new Uint8Array(2 + fields.reduce((n, f) => n + 1 + f.length, 0));
  head[0] = MEDIA_FRAMES_V2;
  head[1] = TRACKS.indexOf(identity.track);
  let offset = 2;
  for (const field of fields) {
    if (field.length > 255) throw new RangeError('media.frames.v2: identity field over 255 bytes');
    head[offset] = field.length;
    head.set(field, offset + 1);
    offset += 1 + field.length;
  }
  return head;
}

/** Encodes a v2 body (the gateway writes the same layout straight from Twilio's base64, see batch-body.ts). */
export function encodeMediaFramesV2(batch: Omit<MediaFramesV2, 'type'>): Uint8Array {
  const head = mediaFramesV2Head(batch);
  const size =
    head.length + 8 + batch.frames.reduce((n, f) => n + MEDIA_V2_FRAME_HEADER_BYTES + f.payload.length, 0);
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  body.set(head);
  let offset = head.length;
  writeU48(view, offset, Date.parse(batch.receivedAt));
  view.setUint16(offset + 6, batch.frames.length, true);
  offset += 8;
  for (const { chunk, timestampMs, payload } of batch.frames) {
    writeU48(view, offset, chunk);
    writeU48(view, offset + 6, timestampMs);
    view.setUint16(offset + 12, payload.length, true);
    body.set(payload, offset + MEDIA_V2_FRAME_HEADER_BYTES);
    offset += MEDIA_V2_FRAME_HEADER_BYTES + payload.length;
  }
  return body;
}

/**
 * Reads a media message of either version. Payloads of v2 are views into `data`, not copies. Anything malformed
 * is an InvalidMessageError, as `decodeEvent` throws for v1.
 */
export function decodeMediaBatch(data: Uint8Array, what = 'media message'): MediaBatch {
  if (data[0] !== MEDIA_FRAMES_V2) return decodeEvent(MediaFrames, data, what);
  const fail = (issue: string): never => {
    throw new InvalidMessageError(what, [`media.frames.v2: ${issue}`]);
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const track = TRACKS[data[1] ?? 255];
  if (!track) return fail('track must be 0 or 1');
  let offset = 2;
  const field = (): string => {
    const length = data[offset];
    if (length === undefined || offset + 1 + length > data.length) return fail('truncated header');
    const value = latin1.decode(data.subarray(offset + 1, offset + 1 + length));
    offset += 1 + length;
    return value;
  };
  // The patterns of v1's schema fields, tested directly: cheaper than a zod parse per message (docs/benchmarks.md).
  const head = { callSid: field(), streamSid: field(), speaker: field() };
  if (!CALL_SID_PATTERN.test(head.callSid)) return fail('callSid: must be CA followed by 32 hex digits');
  if (!STREAM_SID_PATTERN.test(head.streamSid))
    return fail('streamSid: must be MZ followed by 32 hex digits');
  if (!SPEAKER_PATTERN.test(head.speaker)) return fail('speaker: must match ^[a-z][a-z0-9-]{0,31}$');
  if (offset + 8 > data.length) return fail('truncated header');
  const receivedAtMs = readU48(view, offset);
  const count = view.getUint16(offset + 6, true);
  offset += 8;
  if (count < 1 || count > MEDIA_V2_MAX_FRAMES) return fail(`frame count must be 1–${MEDIA_V2_MAX_FRAMES}`);
  const frames: MediaFramesV2['frames'] = [];
  for (let i = 0; i < count; i += 1) {
    if (offset + MEDIA_V2_FRAME_HEADER_BYTES > data.length) return fail(`frame ${i}: truncated`);
    const chunk = readU48(view, offset);
    const timestampMs = readU48(view, offset + 6);
    const length = view.getUint16(offset + 12, true);
    offset += MEDIA_V2_FRAME_HEADER_BYTES;
    if (chunk < 1) return fail(`frame ${i}: chunk must be ≥ 1`);
    if (length > MEDIA_V2_MAX_PAYLOAD_BYTES || offset + length > data.length)
      return fail(`frame ${i}: payload length`);
    frames.push({ chunk, timestampMs, payload: data.subarray(offset, offset + length) });
    offset += length;
  }
  if (offset !== data.length) return fail('bytes after the last frame');
  const receivedAt = new Date(receivedAtMs);
  if (Number.isNaN(receivedAt.getTime())) return fail('receivedAt out of range');
  return { type: 'media.frames.v2', ...head, track, receivedAt: receivedAt.toISOString(), frames };
}

const U32 = 2 ** 32;

function writeU48(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % U32, true);
  view.setUint16(offset + 4, Math.floor(value / U32), true);
}

function readU48(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint16(offset + 4, true) * U32;
}
