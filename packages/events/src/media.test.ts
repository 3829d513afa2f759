import { describe, expect, it } from 'vitest';
import { InvalidMessageError } from './errors.js';
import {
  decodeMediaBatch,
  encodeMediaFramesV2,
  encodeMediaFramesV3,
  mediaSections,
  type MediaFramesV2,
  type MediaFramesV3,
} from './media.js';

const batch: Omit<MediaFramesV2, 'type'> = {
  callSid: `CA${'a'.repeat(32)}`,
  streamSid: `MZ${'b'.repeat(32)}`,
  track: 'inbound',
  speaker: 'agent',
  receivedAt: '2026-11-27T10:00:00.123Z',
  frames: [
    { chunk: 1, timestampMs: 0, payload: new Uint8Array(160).fill(0x7f) },
    { chunk: 2 ** 40, timestampMs: 999_999_999_999, payload: new Uint8Array([1, 2, 3]) },
  ],
};

describe('media.frames.v2', () => {
  it('reads back what it encodes: 174 bytes a 20 ms frame, plus the identity once', () => {
    const body = encodeMediaFramesV2(batch);
    expect(body.length).toBe(2 + 35 + 35 + 6 + 8 + 14 + 160 + 14 + 3);
    expect(decodeMediaBatch(body)).toEqual({ type: 'media.frames.v2', ...batch });
  });

  it('reads a v1 JSON body by its schema', () => {
    const v1 = {
      type: 'media.frames.v1',
      ...batch,
      frames: [{ chunk: 1, timestampMs: 0, payload: 'f39/fw==' }],
    };
    expect(decodeMediaBatch(new TextEncoder().encode(JSON.stringify(v1)))).toEqual(v1);
  });

  const body = encodeMediaFramesV2(batch);
  const edit = (f: (b: Uint8Array) => void) => {
    const copy = body.slice();
    f(copy);
    return copy;
  };
  const malformed: Array<[string, Uint8Array]> = [
    ['an unknown track', edit((b) => (b[1] = 2))],
    ['a callSid that is not one', edit((b) => (b[3] = 'X'.charCodeAt(0)))],
    ['a speaker the schema refuses', edit((b) => (b[2 + 35 + 35 + 1] = 'A'.charCodeAt(0)))],
    ['no frames', edit((b) => b.set([0, 0], 2 + 35 + 35 + 6 + 6))],
    ['chunk 0', edit((b) => b.fill(0, 2 + 35 + 35 + 6 + 8, 2 + 35 + 35 + 6 + 8 + 6))],
    ['a payload longer than the body', edit((b) => b.set([255, 0], 2 + 35 + 35 + 6 + 8 + 12))],
    ['a cut body', body.subarray(0, body.length - 1)],
    ['bytes after the last frame', new Uint8Array([...body, 0])],
    ['a cut header', body.subarray(0, 20)],
    ['one byte', new Uint8Array([2])],
    ['an empty body', new Uint8Array(0)],
  ];
  it.each(malformed)('refuses %s with an InvalidMessageError', (_name, data) => {
    expect(() => decodeMediaBatch(data)).toThrow(InvalidMessageError);
  });
});

const call: Omit<MediaFramesV3, 'type'> = {
  callSid: batch.callSid,
  streamSid: batch.streamSid,
  receivedAt: batch.receivedAt,
  tracks: [
    { track: 'inbound', speaker: 'agent', frames: batch.frames },
    {
      track: 'outbound',
      speaker: 'technician',
      frames: [{ chunk: 3, timestampMs: 40, payload: new Uint8Array(160).fill(0x55) }],
    },
  ],
};

describe('media.frames.v3', () => {
  it('reads back both tracks of a call, the identity once and each speaker once', () => {
    const body = encodeMediaFramesV3(call);
    const head = 1 + 35 + 35 + 6 + 1;
    const sections = 1 + 6 + 2 + (14 + 160 + 14 + 3) + (1 + 11 + 2 + 14 + 160);
    expect(body.length).toBe(head + sections);
    expect(decodeMediaBatch(body)).toEqual({ type: 'media.frames.v3', ...call });
  });

  it('reads a message with one track, in either order', () => {
    const outboundOnly = { ...call, tracks: [call.tracks[1]!] };
    expect(decodeMediaBatch(encodeMediaFramesV3(outboundOnly))).toEqual({
      type: 'media.frames.v3',
      ...outboundOnly,
    });
    const reversed = { ...call, tracks: [call.tracks[1]!, call.tracks[0]!] };
    expect(decodeMediaBatch(encodeMediaFramesV3(reversed))).toEqual({ type: 'media.frames.v3', ...reversed });
  });

  it('gives every version as track sections', () => {
    expect(mediaSections(decodeMediaBatch(encodeMediaFramesV3(call)))).toEqual(call.tracks);
    expect(mediaSections(decodeMediaBatch(encodeMediaFramesV2(batch)))).toEqual([
      { type: 'media.frames.v2', ...batch },
    ]);
  });

  const body = encodeMediaFramesV3(call);
  const sectionsAt = 1 + 35 + 35 + 6;
  const edit = (f: (b: Uint8Array) => void) => {
    const copy = body.slice();
    f(copy);
    return copy;
  };
  const malformed: Array<[string, Uint8Array]> = [
    ['no sections', edit((b) => (b[sectionsAt] = 0))],
    ['three sections', edit((b) => (b[sectionsAt] = 3))],
    ['an unknown track', edit((b) => (b[sectionsAt + 1] = 2))],
    ['the same track twice', edit((b) => (b[sectionsAt + 1] = 1))],
    ['a streamSid that is not one', edit((b) => (b[1 + 35 + 1] = 'X'.charCodeAt(0)))],
    ['a speaker the schema refuses', edit((b) => (b[sectionsAt + 3] = 'A'.charCodeAt(0)))],
    ['a section without frames', edit((b) => b.set([0, 0], sectionsAt + 2 + 6))],
    ['a cut body', body.subarray(0, body.length - 1)],
    ['bytes after the last frame', new Uint8Array([...body, 0])],
    ['a cut header', body.subarray(0, sectionsAt)],
    ['one byte', new Uint8Array([3])],
  ];
  it.each(malformed)('refuses %s with an InvalidMessageError', (_name, data) => {
    expect(() => decodeMediaBatch(data)).toThrow(InvalidMessageError);
  });
});
