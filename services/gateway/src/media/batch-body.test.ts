import { decodeMediaBatch, encodeMediaFramesV2, encodeMediaFramesV3 } from '@calltx/events/internal';
import { describe, expect, it } from 'vitest';
import { BatchEncoder, CallBatchEncoder, decodedLength } from './batch-body.js';
import type { TrackIdentity } from './publisher.js';

const identity = {
  callSid: `CA${'a'.repeat(32)}`,
  streamSid: `MZ${'b'.repeat(32)}`,
  track: 'outbound' as const,
  speaker: 'technician',
};
const bytes = Buffer.from(Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff));

describe('BatchEncoder', () => {
  it('writes a media.frames.v2 body byte for byte as the events package encodes it, with the base64 decoded', () => {
    const at = new Date('2026-11-27T10:00:00.123Z');
    const frames = [
      { chunk: 7, timestampMs: 120, payload: bytes.toString('base64') },
      { chunk: 8, timestampMs: 140, payload: 'AAA=' },
      { chunk: 9, timestampMs: 86_400_000 * 300, payload: 'AA==' },
      { chunk: 999_999_999_999, timestampMs: 999_999_999_999, payload: 'f39/fw==' },
    ];
    const body = new BatchEncoder(identity).encode(at.getTime(), [frames]);
    const asBytes = frames.map((f) => ({ ...f, payload: new Uint8Array(Buffer.from(f.payload, 'base64')) }));
    expect(body).toEqual(
      Buffer.from(encodeMediaFramesV2({ ...identity, receivedAt: at.toISOString(), frames: asBytes })),
    );
    expect(decodeMediaBatch(body)).toEqual({
      type: 'media.frames.v2',
      ...identity,
      receivedAt: at.toISOString(),
      // views into the body, which is a Buffer
      frames: asBytes.map((f) => ({ ...f, payload: Buffer.from(f.payload) })),
    });
  });

  it('writes a media.frames.v3 body for a call as the events package encodes it, a section per track with frames', () => {
    const at = new Date('2026-11-27T10:00:00.123Z');
    const inbound = { ...identity, track: 'inbound' as const, speaker: 'agent' };
    const encoder = new CallBatchEncoder([inbound, identity]);
    const frames = {
      inbound: [
        { chunk: 5, timestampMs: 80, payload: bytes.toString('base64') },
        { chunk: 6, timestampMs: 100, payload: 'AA==' },
      ],
      outbound: [{ chunk: 999_999_999_999, timestampMs: 999_999_999_999, payload: 'f39/fw==' }],
    };
    const asBytes = (list: typeof frames.inbound) =>
      list.map((f) => ({ ...f, payload: new Uint8Array(Buffer.from(f.payload, 'base64')) }));
    const reference = (tracks: Array<[TrackIdentity, typeof frames.inbound]>) =>
      Buffer.from(
        encodeMediaFramesV3({
          ...identity,
          receivedAt: at.toISOString(),
          tracks: tracks.map(([t, f]) => ({ track: t.track, speaker: t.speaker, frames: asBytes(f) })),
        }),
      );
    const both = encoder.encode(at.getTime(), [frames.inbound, frames.outbound]);
    expect(both).toEqual(
      reference([
        [inbound, frames.inbound],
        [identity, frames.outbound],
      ]),
    );
    expect(decodeMediaBatch(both)).toMatchObject({ type: 'media.frames.v3', callSid: identity.callSid });
    expect(encoder.encode(at.getTime(), [[], frames.outbound])).toEqual(
      reference([[identity, frames.outbound]]),
    );
    expect(encoder.encode(at.getTime(), [frames.inbound, []])).toEqual(
      reference([[inbound, frames.inbound]]),
    );
  });

  it('knows what a checked base64 payload decodes to', () => {
    for (const n of [1, 2, 3, 4, 159, 160, 161]) {
      const payload = Buffer.alloc(n, 0xab).toString('base64');
      expect(decodedLength(payload)).toBe(n);
    }
  });
});
