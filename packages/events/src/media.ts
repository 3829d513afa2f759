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
  return withFields(
    [MEDIA_FRAMES_V2, TRACKS.indexOf(identity.track)],
    [identity.callSid, identity.streamSid, identity.speaker],
  );
}

/** Encodes a v2 body (the gateway writes the same layout straight from Twilio's base64, see batch-body.ts). */
export function encodeMediaFramesV2(batch: Omit<MediaFramesV2, 'type'>): Uint8Array {
  const head = mediaFramesV2Head(batch);
  const size =
    head.length + 8 + batch.frames.reduce((n, f) => n + MEDIA_V2_FRAME_HEADER_BYTES + f.payload.length, 0);
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  body.set(head);
  writeU48(view, head.length, Date.parse(batch.receivedAt));
  view.setUint16(head.length + 6, batch.frames.length, true);
  writeFrames(body, view, head.length + 8, batch.frames);
  return body;
}

/**
 * `media.frames.v3`: one call's frames of both tracks in one message (subject `media.v1.<CallSid>.both`), so the
 * gateway publishes one message per call and flush instead of one per track. Little-endian, layout in
 * docs/api/internal-media.md:
 *
 *   u8 format (3) · u8 length + callSid · u8 length + streamSid · u48 receivedAt · u8 section count (1–2) ·
 *   per section, one per track present, tracks distinct: u8 track · u8 length + speaker · u16 frame count ·
 *   frames as in v2
 */
export const MEDIA_FRAMES_V3 = 3;

export interface MediaTrackFrames {
  track: Track;
  speaker: string;
  frames: Array<{ chunk: number; timestampMs: number; payload: Uint8Array }>;
}

export interface MediaFramesV3 {
  type: 'media.frames.v3';
  callSid: string;
  streamSid: string;
  receivedAt: string;
  /** One entry per track with frames in this message (1 or 2), each track at most once. */
  tracks: MediaTrackFrames[];
}

/** Any version as a consumer reads it: v1 payloads are base64 text, v2 and v3 payloads bytes. */
export type AnyMediaBatch = MediaBatch | MediaFramesV3;

/** The fixed start of a v3 body for one call (format, callSid, streamSid); reused for every message. */
export function mediaFramesV3Head(identity: { callSid: string; streamSid: string }): Uint8Array {
  return withFields([MEDIA_FRAMES_V3], [identity.callSid, identity.streamSid]);
}

/** The fixed start of a v3 section for one track (track, speaker), before its frame count. */
export function mediaFramesV3SectionHead(identity: { track: Track; speaker: string }): Uint8Array {
  return withFields([TRACKS.indexOf(identity.track)], [identity.speaker]);
}

/** Encodes a v3 body (the gateway writes the same layout straight from Twilio's base64, see batch-body.ts). */
export function encodeMediaFramesV3(batch: Omit<MediaFramesV3, 'type'>): Uint8Array {
  const head = mediaFramesV3Head(batch);
  const sections = batch.tracks.map((t) => ({ head: mediaFramesV3SectionHead(t), frames: t.frames }));
  const size = sections.reduce(
    (n, s) =>
      n +
      s.head.length +
      2 +
      s.frames.reduce((m, f) => m + MEDIA_V2_FRAME_HEADER_BYTES + f.payload.length, 0),
    head.length + 7,
  );
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  body.set(head);
  let offset = head.length;
  writeU48(view, offset, Date.parse(batch.receivedAt));
  body[offset + 6] = sections.length;
  offset += 7;
  for (const section of sections) {
    body.set(section.head, offset);
    offset += section.head.length;
    view.setUint16(offset, section.frames.length, true);
    offset = writeFrames(body, view, offset + 2, section.frames);
  }
  return body;
}

function withFields(prefix: number[], strings: string[]): Uint8Array {
  const fields = strings.map((s) => utf8.encode(s));
  const out = new Uint8Array(prefix.length + fields.reduce((n, f) => n + 1 + f.length, 0));
  out.set(prefix);
  let offset = prefix.length;
  for (const field of fields) {
    if (field.length > 255) throw new RangeError('media frames: identity field over 255 bytes');
    out[offset] = field.length;
    out.set(field, offset + 1);
    offset += 1 + field.length;
  }
  return out;
}

function writeFrames(
  body: Uint8Array,
  view: DataView,
  start: number,
  frames: MediaTrackFrames['frames'],
): number {
  let offset = start;
  for (const { chunk, timestampMs, payload } of frames) {
    writeU48(view, offset, chunk);
    writeU48(view, offset + 6, timestampMs);
    view.setUint16(offset + 12, payload.length, true);
    body.set(payload, offset + MEDIA_V2_FRAME_HEADER_BYTES);
    offset += MEDIA_V2_FRAME_HEADER_BYTES + payload.length;
  }
  return offset;
}

/** Reads the binary formats: fields in order, every length checked against the body. */
class BinaryReader {
  offset = 0;
  readonly view: DataView;

  constructor(
    readonly data: Uint8Array,
    readonly fail: (issue: string) => never,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  u8(): number {
    const value = this.data[this.offset];
    if (value === undefined) return this.fail('truncated header');
    this.offset += 1;
    return value;
  }

  field(): string {
    const length = this.u8();
    if (this.offset + length > this.data.length) return this.fail('truncated header');
    const value = latin1.decode(this.data.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  track(): Track {
    return TRACKS[this.u8()] ?? this.fail('track must be 0 or 1');
  }

  speaker(): string {
    const speaker = this.field();
    return SPEAKER_PATTERN.test(speaker) ? speaker : this.fail('speaker: must match ^[a-z][a-z0-9-]{0,31}$');
  }

  /** callSid and streamSid, checked with v1's schema patterns (cheaper than a zod parse per message). */
  identity(): { callSid: string; streamSid: string } {
    const callSid = this.field();
    const streamSid = this.field();
    if (!CALL_SID_PATTERN.test(callSid)) return this.fail('callSid: must be CA followed by 32 hex digits');
    if (!STREAM_SID_PATTERN.test(streamSid))
      return this.fail('streamSid: must be MZ followed by 32 hex digits');
    return { callSid, streamSid };
  }

  receivedAt(): string {
    if (this.offset + 6 > this.data.length) return this.fail('truncated header');
    const at = new Date(readU48(this.view, this.offset));
    this.offset += 6;
    return Number.isNaN(at.getTime()) ? this.fail('receivedAt out of range') : at.toISOString();
  }

  /** A frame count, then the frames; payloads are views into the body. */
  frames(): MediaTrackFrames['frames'] {
    if (this.offset + 2 > this.data.length) return this.fail('truncated header');
    const count = this.view.getUint16(this.offset, true);
    this.offset += 2;
    if (count < 1 || count > MEDIA_V2_MAX_FRAMES)
      return this.fail(`frame count must be 1–${MEDIA_V2_MAX_FRAMES}`);
    const frames: MediaTrackFrames['frames'] = [];
    const { data, view } = this;
    for (let i = 0; i < count; i += 1) {
      let offset = this.offset;
      if (offset + MEDIA_V2_FRAME_HEADER_BYTES > data.length) return this.fail(`frame ${i}: truncated`);
      const chunk = readU48(view, offset);
      const timestampMs = readU48(view, offset + 6);
      const length = view.getUint16(offset + 12, true);
      offset += MEDIA_V2_FRAME_HEADER_BYTES;
      if (chunk < 1) return this.fail(`frame ${i}: chunk must be ≥ 1`);
      if (length > MEDIA_V2_MAX_PAYLOAD_BYTES || offset + length > data.length)
        return this.fail(`frame ${i}: payload length`);
      frames.push({ chunk, timestampMs, payload: data.subarray(offset, offset + length) });
      this.offset = offset + length;
    }
    return frames;
  }

  end(): void {
    if (this.offset !== this.data.length) this.fail('bytes after the last frame');
  }
}

/**
 * Reads a media message of any version. Payloads of v2 and v3 are views into `data`, not copies. Anything
 * malformed is an InvalidMessageError, as `decodeEvent` throws for v1.
 */
export function decodeMediaBatch(data: Uint8Array, what = 'media message'): AnyMediaBatch {
  const format = data[0];
  if (format !== MEDIA_FRAMES_V2 && format !== MEDIA_FRAMES_V3) return decodeEvent(MediaFrames, data, what);
  const version = `media.frames.v${format}`;
  const read = new BinaryReader(data, (issue: string): never => {
    throw new InvalidMessageError(what, [`${version}: ${issue}`]);
  });
  read.offset = 1;
  if (format === MEDIA_FRAMES_V2) {
    const track = read.track();
    const identity = read.identity();
    const speaker = read.speaker();
    const receivedAt = read.receivedAt();
    const frames = read.frames();
    read.end();
    return { type: 'media.frames.v2', ...identity, track, speaker, receivedAt, frames };
  }
  const identity = read.identity();
  const receivedAt = read.receivedAt();
  const count = read.u8();
  if (count < 1 || count > TRACKS.length) read.fail(`section count must be 1–${TRACKS.length}`);
  const tracks: MediaTrackFrames[] = [];
  for (let i = 0; i < count; i += 1) {
    const track = read.track();
    if (tracks.some((t) => t.track === track)) read.fail(`track ${track} in two sections`);
    tracks.push({ track, speaker: read.speaker(), frames: read.frames() });
  }
  read.end();
  return { type: 'media.frames.v3', ...identity, receivedAt, tracks };
}

/** A message of any version as per-track sections, as v3 holds them. */
export function mediaSections(batch: AnyMediaBatch): Array<{
  track: Track;
  speaker: string;
  frames: ReadonlyArray<{ chunk: number; timestampMs: number; payload: string | Uint8Array }>;
}> {
  return batch.type === 'media.frames.v3' ? batch.tracks : [batch];
}

const U32 = 2 ** 32;

function writeU48(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % U32, true);
  view.setUint16(offset + 4, Math.floor(value / U32), true);
}

function readU48(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint16(offset + 4, true) * U32;
}
