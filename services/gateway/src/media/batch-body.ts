import {
  mediaFramesV2Head,
  mediaFramesV3Head,
  mediaFramesV3SectionHead,
  MEDIA_V2_FRAME_HEADER_BYTES,
} from '@calltx/events/internal';
import type { TrackIdentity } from './publisher.js';

export interface BatchFrame {
  chunk: number;
  timestampMs: number;
  /** Twilio's base64, already checked against the base64 alphabet and for a length that is a multiple of 4. */
  payload: string;
}

/** What a checked base64 payload decodes to, in bytes. */
export function decodedLength(payload: string): number {
  const n = payload.length;
  const padding = payload.charCodeAt(n - 1) !== 61 ? 0 : payload.charCodeAt(n - 2) === 61 ? 2 : 1;
  return (n >>> 2) * 3 - padding;
}

/** Writes one message body from the frames of each track it covers (index = the publisher's track order). */
export interface BodyEncoder {
  encode(receivedAtMs: number, frames: ReadonlyArray<readonly BatchFrame[]>): Buffer;
}

/**
 * Encodes `media.frames.v2` messages for one track (layout: packages/events/src/media.ts and
 * docs/api/internal-media.md). The track's identity is encoded once; each batch writes its time and frames into
 * one buffer, decoding Twilio's base64 straight into it with Buffer's native decoder, so a frame costs no
 * intermediate string or buffer. `encodeMediaFramesV2` in the events package writes the same layout from bytes;
 * the tests hold the two equal.
 */
export class BatchEncoder implements BodyEncoder {
  readonly #head: Buffer;

  constructor(identity: TrackIdentity) {
    this.#head = Buffer.from(mediaFramesV2Head(identity));
  }

  encode(receivedAtMs: number, [frames = []]: ReadonlyArray<readonly BatchFrame[]>): Buffer {
    const head = this.#head;
    const body = Buffer.allocUnsafe(head.length + 8 + framesSize(frames));
    let offset = head.copy(body, 0);
    offset = body.writeUIntLE(receivedAtMs, offset, 6);
    offset = body.writeUInt16LE(frames.length, offset);
    writeFrames(body, offset, frames);
    return body;
  }
}

/**
 * Encodes `media.frames.v3` messages for one call: the frames of both tracks in one body, one section per track
 * that has frames. Same technique as BatchEncoder; `encodeMediaFramesV3` is the reference the tests hold it to.
 */
export class CallBatchEncoder implements BodyEncoder {
  readonly #head: Buffer;
  readonly #sections: Buffer[];

  constructor(tracks: readonly TrackIdentity[]) {
    this.#head = Buffer.from(mediaFramesV3Head(tracks[0]!));
    this.#sections = tracks.map((t) => Buffer.from(mediaFramesV3SectionHead(t)));
  }

  encode(receivedAtMs: number, frames: ReadonlyArray<readonly BatchFrame[]>): Buffer {
    const head = this.#head;
    let size = head.length + 7;
    let sections = 0;
    for (let t = 0; t < frames.length; t += 1) {
      const track = frames[t]!;
      if (track.length === 0) continue;
      sections += 1;
      size += this.#sections[t]!.length + 2 + framesSize(track);
    }
    const body = Buffer.allocUnsafe(size);
    let offset = head.copy(body, 0);
    offset = body.writeUIntLE(receivedAtMs, offset, 6);
    offset = body.writeUInt8(sections, offset);
    for (let t = 0; t < frames.length; t += 1) {
      const track = frames[t]!;
      if (track.length === 0) continue;
      offset += this.#sections[t]!.copy(body, offset);
      offset = body.writeUInt16LE(track.length, offset);
      offset = writeFrames(body, offset, track);
    }
    return body;
  }
}

function framesSize(frames: readonly BatchFrame[]): number {
  let size = 0;
  for (let i = 0; i < frames.length; i += 1) {
    size += MEDIA_V2_FRAME_HEADER_BYTES + decodedLength(frames[i]!.payload);
  }
  return size;
}

function writeFrames(body: Buffer, start: number, frames: readonly BatchFrame[]): number {
  let offset = start;
  for (let i = 0; i < frames.length; i += 1) {
    const { chunk, timestampMs, payload } = frames[i]!;
    const bytes = decodedLength(payload);
    offset = body.writeUIntLE(chunk, offset, 6);
    offset = body.writeUIntLE(timestampMs, offset, 6);
    offset = body.writeUInt16LE(bytes, offset);
    offset += body.write(payload, offset, bytes, 'base64');
  }
  return offset;
}
