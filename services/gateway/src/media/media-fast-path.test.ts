import { describe, expect, it } from 'vitest';
import { checkMediaMessage, readTwilioMedia } from './twilio-messages.js';

const STREAM_SID = `MZ${'0a'.repeat(16)}`;
const PAYLOAD = Buffer.alloc(160, 0x7f).toString('base64');
/** A media message exactly as Twilio writes it. */
const twilio = (
  fields: { seq?: string; track?: string; chunk?: string; ts?: string; payload?: string } = {},
) =>
  `{"event":"media","sequenceNumber":"${fields.seq ?? '7'}","media":{"track":"${fields.track ?? 'outbound'}",` +
  `"chunk":"${fields.chunk ?? '3'}","timestamp":"${fields.ts ?? '40'}","payload":"${fields.payload ?? PAYLOAD}"},` +
  `"streamSid":"${STREAM_SID}"}`;

/** What the full path makes of a text: the frame, or a reason it is refused. */
function fullPath(text: string): unknown {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return 'malformed-json';
  }
  if (typeof message !== 'object' || message === null || (message as { event?: unknown }).event !== 'media')
    return 'not media';
  return checkMediaMessage(message, STREAM_SID);
}

describe('readTwilioMedia (the fast path for media messages)', () => {
  it("reads Twilio's exact text to the frame the full path makes of it", () => {
    const text = twilio({ seq: '123456789012', chunk: '000000000042', ts: '999999999999', track: 'inbound' });
    const frame = readTwilioMedia(Buffer.from(text), Buffer.from(STREAM_SID));
    expect(frame).toEqual({ track: 'inbound', chunk: 42, timestamp: 999_999_999_999, payload: PAYLOAD });
    expect(frame).toEqual(fullPath(text));
  });

  const declined: Array<[string, string]> = [
    [
      'another key order',
      twilio().replace('"event":"media","sequenceNumber":"7"', '"sequenceNumber":"7","event":"media"'),
    ],
    ['whitespace', twilio().replace('"media":{', '"media": {')],
    ['an escaped payload character', twilio().replace(PAYLOAD, `${PAYLOAD.slice(0, -4)}f\\/8=`)],
    ['an escaped key', twilio().replace('"chunk"', '"chu\\u006ek"')],
    ['trailing bytes', `${twilio()} `],
    ['a second object', `${twilio()}{}`],
    ['another stream', twilio().replace(STREAM_SID, `MZ${'1b'.repeat(16)}`)],
    ['a longer streamSid', twilio().replace(STREAM_SID, `${STREAM_SID}0`)],
    ['an extra field', twilio().replace('"payload"', '"extra":"x","payload"')],
    ['a numeric chunk', twilio().replace('"chunk":"3"', '"chunk":3')],
    ['chunk 0', twilio({ chunk: '0' })],
    ['a 13-digit timestamp', twilio({ ts: '1234567890123' })],
    ['an empty sequenceNumber', twilio({ seq: '' })],
    ['a negative chunk', twilio({ chunk: '-1' })],
    ['an unknown track', twilio({ track: 'both' })],
    ['a track with a suffix', twilio({ track: 'inboundx' })],
    ['a payload that is not base64', twilio({ payload: 'f39/f*==' })],
    ['a payload of a wrong length', twilio({ payload: 'f39/fw=' })],
    ['an empty payload', twilio({ payload: '' })],
    ['padding inside the payload', twilio({ payload: 'AA==AAAA' })],
    ['three padding characters', twilio({ payload: 'A===' })],
    ['a too long payload', twilio({ payload: 'AAAA'.repeat(2049) })],
    ['a non-ASCII character', twilio().replace('"streamSid"', '"streamSïd"')],
    ['a cut message', twilio().slice(0, -2)],
  ];
  it.each(declined)('leaves %s to the full path', (_name, text) => {
    expect(readTwilioMedia(Buffer.from(text), Buffer.from(STREAM_SID))).toBeUndefined();
  });

  it('never accepts what the full path refuses, nor reads a value differently (every one-byte edit of a message)', () => {
    const text = twilio({ payload: 'f39/fw==' });
    const alphabet = [
      '"',
      '\\',
      '{',
      '}',
      ',',
      ':',
      ' ',
      '0',
      '9',
      'a',
      'A',
      '=',
      '/',
      '+',
      '-',
      '.',
      '\u00e9',
    ];
    let fast = 0;
    for (let i = 0; i < text.length; i += 1) {
      for (const c of alphabet) {
        for (const edited of [
          text.slice(0, i) + c + text.slice(i + 1),
          text.slice(0, i) + c + text.slice(i),
          text.slice(0, i) + text.slice(i + 1),
        ]) {
          const frame = readTwilioMedia(Buffer.from(edited), Buffer.from(STREAM_SID));
          if (frame === undefined) continue;
          fast += 1;
          expect(frame, edited).toEqual(fullPath(edited));
        }
      }
    }
    expect(fast).toBeGreaterThan(100); // digit and base64 edits that stay valid
  });
});
