import { MediaFrames } from '@calltx/events/internal';
import { describe, expect, it } from 'vitest';
import { BatchEncoder } from './batch-body.js';

const identity = {
  callSid: `CA${'a'.repeat(32)}`,
  streamSid: `MZ${'b'.repeat(32)}`,
  track: 'outbound' as const,
  speaker: 'technician',
};
const payload = Buffer.alloc(160, 0xff).toString('base64');

describe('BatchEncoder', () => {
  it('writes exactly what JSON.stringify writes, and a valid media.frames.v1 message', () => {
    const at = new Date('2026-11-27T10:00:00.123Z');
    const frames = [
      { chunk: 7, timestampMs: 120, payload },
      { chunk: 8, timestampMs: 140, payload: 'AAA=' },
    ];
    const body = new BatchEncoder(identity).encode(at, frames);
    const expected = { type: 'media.frames.v1', ...identity, receivedAt: at.toISOString(), frames };
    expect(body.toString()).toBe(JSON.stringify(expected));
    expect(MediaFrames.parse(JSON.parse(body.toString()))).toEqual(expected);
  });

  it('escapes the configured speaker name once, as JSON.stringify does', () => {
    const odd = { ...identity, speaker: 'tech "field" \\ ünïcode' };
    const body = new BatchEncoder(odd).encode(new Date(0), [{ chunk: 1, timestampMs: 0, payload }]);
    expect(JSON.parse(body.toString())).toMatchObject({ speaker: odd.speaker, frames: [{ chunk: 1 }] });
  });
});
