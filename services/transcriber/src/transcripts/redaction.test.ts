import { describe, expect, it } from 'vitest';
import { TranscriptRedactor } from './redaction.js';

const redactor = new TranscriptRedactor(['card', 'phone', 'email']);
const word = (text: string, startMs: number, endMs: number, probability = 0.9) => ({
  text,
  startMs,
  endMs,
  probability,
});

describe('TranscriptRedactor', () => {
  it('redacts text, segments and words of a final, spans timed by the words', () => {
    const final = redactor.final({
      startMs: 1000,
      endMs: 5000,
      text: 'call 415 555 0132, thanks',
      segments: [
        { startMs: 1000, endMs: 2500, text: ' call 415 555' },
        { startMs: 2500, endMs: 5000, text: ' 0132, thanks' },
      ],
      words: [
        word(' call', 1000, 1400),
        word(' 415', 1400, 2000, 0.8),
        word(' 555', 2000, 2500),
        word(' 0132,', 2500, 3300, 0.7),
        word(' thanks', 3300, 4000),
      ],
    });
    expect(final.text).toBe('call [PHONE], thanks');
    expect(final.segments).toEqual([{ startMs: 1000, endMs: 5000, text: ' call [PHONE], thanks' }]);
    expect(final.words).toEqual([
      word(' call', 1000, 1400),
      word(' [PHONE],', 1400, 3300, 0.7),
      word(' thanks', 3300, 4000),
    ]);
    expect(final.redactions).toEqual([{ kind: 'phone', startMs: 1400, endMs: 3300 }]);
  });

  it('times spans by the segments without words, by the utterance without either', () => {
    const bySegments = redactor.final({
      startMs: 0,
      endMs: 9000,
      text: 'hello. mail jane.doe@example.com',
      segments: [
        { startMs: 0, endMs: 2000, text: ' hello.' },
        { startMs: 2000, endMs: 9000, text: ' mail jane.doe@example.com' },
      ],
      words: null,
    });
    expect(bySegments.redactions).toEqual([{ kind: 'email', startMs: 2000, endMs: 9000 }]);
    expect(bySegments.words).toBeNull();
    const byUtterance = redactor.final({
      startMs: 100,
      endMs: 900,
      text: '4539 1488 0343 6467',
      segments: null,
      words: null,
    });
    expect(byUtterance).toMatchObject({
      text: '[CARD]',
      redactions: [{ kind: 'card', startMs: 100, endMs: 900 }],
    });
  });

  it('redacts a number still being said at the end of a partial', () => {
    expect(redactor.partial('the card is four five three nine', 0, 2000)).toEqual({
      text: 'the card is [CARD]',
      redactions: [{ kind: 'card', startMs: 0, endMs: 2000 }],
    });
  });

  it('passes transcripts unchanged, without redactions, when off', () => {
    const off = new TranscriptRedactor([]);
    expect(off.partial('4539 1488', 0, 1)).toEqual({ text: '4539 1488' });
    const final = { startMs: 0, endMs: 1, text: '4539 1488 0343 6467', segments: null, words: null };
    expect(off.final(final)).toEqual({ ...final, redactions: null });
  });
});
