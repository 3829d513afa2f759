import type { RejectReason } from '../metrics.js';

/** Twilio sends 20 ms of 8 kHz mu-law per media message: one byte per sample. */
export const FRAME_BYTES = 160;
export const SAMPLES_PER_MS = 8;
/** Twilio's longest call (24 h): a later timestamp is garbage, and would make a multi-gigabyte WAV of silence. */
export const MAX_TIMESTAMP_MS = 24 * 60 * 60 * 1000;
/** A jump this far ahead of the track's previous frame is garbage too (Twilio's clock advances 20 ms a frame). */
export const MAX_FORWARD_JUMP_MS = 10 * 60 * 1000;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface Frame {
  timestampMs: number;
  /** mu-law bytes. */
  payload: Uint8Array;
}

/**
 * The mu-law bytes of a frame's payload (media.frames.v2 carries bytes, v1 base64), or why it can't be stored.
 * Buffer's base64 decoder is lenient, so check first.
 */
export function decodePayload(payload: string | Uint8Array): Uint8Array | RejectReason {
  // A v2 payload is a view into the socket read it came in: copied, so a spooled frame doesn't hold that read.
  if (typeof payload !== 'string')
    return payload.length === FRAME_BYTES ? new Uint8Array(payload) : 'payload-length';
  if (payload.length % 4 !== 0 || !BASE64.test(payload)) return 'invalid-base64';
  const bytes = Buffer.from(payload, 'base64');
  return bytes.length === FRAME_BYTES ? bytes : 'payload-length';
}

/** Whether a timestamp can be placed, given the last one seen on the track (-1: none yet). */
export function timestampInRange(timestampMs: number, previousMs: number): boolean {
  if (timestampMs > MAX_TIMESTAMP_MS) return false;
  return previousMs < 0 || timestampMs <= previousMs + MAX_FORWARD_JUMP_MS;
}
