import { CalltxError } from '@calltx/events';

/**
 * A part object: the raw mu-law frames of one speaker over a few seconds, sorted by timestamp, as
 * `MAGIC` then records of (u32 LE timestampMs, u16 LE length, payload). Raw mu-law keeps parts at half the
 * size of PCM and decoding stays a pure function of the stored bytes, so a re-run finalize is bit-identical.
 */
const MAGIC = Buffer.from('CTP1', 'latin1');
const RECORD_HEADER_BYTES = 6;

export interface SpooledFrame {
  timestampMs: number;
  payload: Uint8Array;
}

export class PartFormatError extends CalltxError {}

export function encodePart(frames: readonly SpooledFrame[]): Buffer {
  const sorted = [...frames].sort((a, b) => a.timestampMs - b.timestampMs);
  let size = MAGIC.length;
  for (const frame of sorted) size += RECORD_HEADER_BYTES + frame.payload.length;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  let offset = MAGIC.length;
  for (const frame of sorted) {
    out.writeUInt32LE(frame.timestampMs, offset);
    out.writeUInt16LE(frame.payload.length, offset + 4);
    out.set(frame.payload, offset + RECORD_HEADER_BYTES);
    offset += RECORD_HEADER_BYTES + frame.payload.length;
  }
  return out;
}

/** The frames of a part, in timestamp order; payloads are views into `bytes`. */
export function decodePart(bytes: Buffer, key = 'part'): SpooledFrame[] {
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new PartFormatError(`${key} is not a part object`);
  }
  const frames: SpooledFrame[] = [];
  let offset = MAGIC.length;
  while (offset < bytes.length) {
    if (offset + RECORD_HEADER_BYTES > bytes.length) throw new PartFormatError(`${key} is truncated`);
    const timestampMs = bytes.readUInt32LE(offset);
    const length = bytes.readUInt16LE(offset + 4);
    const start = offset + RECORD_HEADER_BYTES;
    if (start + length > bytes.length) throw new PartFormatError(`${key} is truncated`);
    frames.push({ timestampMs, payload: bytes.subarray(start, start + length) });
    offset = start + length;
  }
  return frames;
}
