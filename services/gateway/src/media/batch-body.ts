import { mediaFramesV2Head, MEDIA_V2_FRAME_HEADER_BYTES } from '@calltx/events/internal';
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

/**
 * Encodes `media.frames.v2` messages for one track (layout: packages/events/src/media.ts and
 * docs/api/internal-media.md). The track's identity is encoded once; each batch writes its time and frames into
 * one buffer, decoding Twilio's base64 straight into it with Buffer's native decoder, so a frame costs no
 * intermediate string or buffer. `encodeMediaFramesV2` in the events package writes the same layout from bytes;
 * the tests hold the two equal.
 */
export class BatchEncoder {
  readonly #head: Buffer;

  constructor(identity: TrackIdentity) {
    this.#head = Buffer.from(mediaFramesV2Head(identity));
  }

  encode(receivedAtMs: number, frames: readonly BatchFrame[]): Buffer {
    const head = this.#head;
    let size = head.length + 8;
    for (let i = 0; i < frames.length; i += 1) {
      size += MEDIA_V2_FRAME_HEADER_BYTES + decodedLength(frames[i]!.payload);
    }
    const body = Buffer.allocUnsafe(size);
    let offset = head.copy(body, 0);
    offset = body.writeUIntLE(receivedAtMs, offset, 6);
    offset = body.writeUInt16LE(frames.length, offset);
    for (let i = 0; i < frames.length; i += 1) {
      const { chunk, timestampMs, payload } = frames[i]!;
      const bytes = decodedLength(payload);
      offset = body.writeUIntLE(chunk, offset, 6);
      offset = body.writeUIntLE(timestampMs, offset, 6);
      offset = body.writeUInt16LE(bytes, offset);
      offset += body.write(payload, offset, bytes, 'base64');
    }
    return body;
  }
}
