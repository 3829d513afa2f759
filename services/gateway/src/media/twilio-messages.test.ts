import { describe, expect, it } from 'vitest';
import { checkMediaMessage } from './twilio-messages.js';

const STREAM_SID = `MZ${'0a'.repeat(16)}`;
const valid = () => ({
  event: 'media',
  sequenceNumber: '7',
  media: { track: 'outbound', chunk: '3', timestamp: '40', payload: 'f39/fw==' },
  streamSid: STREAM_SID,
});

describe('checkMediaMessage', () => {
  it('returns the frame of a well-formed message, numbers parsed', () => {
    expect(checkMediaMessage(valid(), STREAM_SID)).toEqual({
      track: 'outbound',
      chunk: 3,
      timestamp: 40,
      payload: 'f39/fw==',
    });
  });

  const cases: Array<[string, (m: ReturnType<typeof valid>) => unknown, string]> = [
    ['another stream', (m) => (m.streamSid = `MZ${'1b'.repeat(16)}`), 'streamSid'],
    [
      'a missing sequenceNumber',
      (m) => delete (m as { sequenceNumber?: string }).sequenceNumber,
      'sequenceNumber',
    ],
    [
      'a numeric sequenceNumber',
      (m) => ((m as { sequenceNumber: unknown }).sequenceNumber = 7),
      'sequenceNumber',
    ],
    ['no media object', (m) => ((m as { media: unknown }).media = null), 'media'],
    ['an unknown track', (m) => (m.media.track = 'both'), 'media.track'],
    ['chunk 0', (m) => (m.media.chunk = '0'), 'media.chunk'],
    ['a negative chunk', (m) => (m.media.chunk = '-1'), 'media.chunk'],
    ['a 13-digit timestamp', (m) => (m.media.timestamp = '1234567890123'), 'media.timestamp'],
    ['an empty timestamp', (m) => (m.media.timestamp = ''), 'media.timestamp'],
    ['a fractional timestamp', (m) => (m.media.timestamp = '1.5'), 'media.timestamp'],
    ['a payload that is not base64', (m) => (m.media.payload = 'f39/f*=='), 'media.payload'],
    ['a payload of a wrong length', (m) => (m.media.payload = 'f39/fw='), 'media.payload'],
    ['a too short payload', (m) => (m.media.payload = ''), 'media.payload'],
    ['a too long payload', (m) => (m.media.payload = 'AAAA'.repeat(2049)), 'media.payload'],
  ];
  it.each(cases)('rejects %s, naming the field', (_name, mutate, field) => {
    const message = valid();
    mutate(message);
    const result = checkMediaMessage(message, STREAM_SID);
    expect(typeof result).toBe('string');
    expect(String(result).split(':')[0]).toBe(field);
  });
});
