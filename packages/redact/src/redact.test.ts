import { describe, expect, it } from 'vitest';
import {
  luhnValid,
  parseRedactionKinds,
  recognise,
  redactPieces,
  redactText,
  REDACTION_KINDS,
  type RedactionKind,
} from './index.js';

const ALL = new Set<RedactionKind>(REDACTION_KINDS);
const redact = (text: string, kinds: Iterable<RedactionKind> = ALL, partial = false) =>
  redactText(text, { kinds: new Set(kinds), partial }).text;

describe('luhn', () => {
  it('accepts valid card numbers and refuses one digit changed', () => {
    for (const card of [
      '4539148803436467',
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '6011111111111117',
    ])
      expect(luhnValid(card)).toBe(true);
    expect(luhnValid('4539148803436468')).toBe(false);
    expect(luhnValid('4539148803436476')).toBe(false);
  });
});

describe('card numbers', () => {
  it.each([
    ['my card is 4539 1488 0343 6467.', 'my card is [CARD].'],
    ['it is 4539-1488-0343-6467, expiry next year', 'it is [CARD], expiry next year'],
    ['4539148803436467', '[CARD]'],
    ['amex 3782 822463 10005 ok', 'amex [CARD] ok'],
    [
      'card four five three nine, one four eight eight, oh three four three, six four six seven.',
      'card [CARD].',
    ],
    ['four five three nine one four eight eight zero three four three six four six seven', '[CARD]'],
    ['four-five-three-nine one four eight eight oh three four three six four six seven', '[CARD]'],
    ['five double five five, five five five five, triple five five, four four four four', '[CARD]'],
    ['4539 1488, um, 0343 6467', '[CARD]'],
    ['forty five thirty nine fourteen eighty eight oh three forty three sixty four sixty seven', '[CARD]'],
    ['born 1985 4539 1488 0343 6467', 'born 1985 [CARD]'],
  ])('%s', (text, expected) => {
    expect(redact(text, ['card'])).toBe(expected);
  });

  it('leaves digit runs of card length that fail the Luhn check', () => {
    expect(redact('reference 4539 1488 0343 6468', ['card'])).toBe('reference 4539 1488 0343 6468');
  });

  it('says which kind it found and where', () => {
    const text = 'card 4539 1488 0343 6467 thanks';
    expect(recognise(text, { kinds: ALL })).toEqual([{ kind: 'card', start: 5, end: 24 }]);
  });
});

describe('phone numbers', () => {
  it.each([
    ['call me on 415 555 0132.', 'call me on [PHONE].'],
    ['call me on (415) 555-0132 please', 'call me on ([PHONE] please'],
    ['415.555.0132', '[PHONE]'],
    ['+44 20 7946 0958', '[PHONE]'],
    ["that's four one five, double five five, oh one three two.", "that's [PHONE]."],
    ['eight hundred, five five five, one two one two', '[PHONE]'],
    ['oh two oh seven nine four six oh nine five eight', '[PHONE]'],
  ])('%s', (text, expected) => {
    expect(redact(text, ['phone'])).toBe(expected);
  });
});

describe('emails', () => {
  it.each([
    ['write to jane.doe@example.com.', 'write to [EMAIL].'],
    ['the email is jane.doe at example.com.', 'the email is [EMAIL].'],
    ['jane dot doe at example dot co dot uk please', '[EMAIL] please'],
    ['it is j_smith at mail.example.org', 'it is [EMAIL]'],
    ['john underscore smith at gmail dot com', '[EMAIL]'],
  ])('%s', (text, expected) => {
    expect(redact(text, ['email'])).toBe(expected);
  });

  it.each([
    'meet me at home',
    "I'll be there at noon. Dot will come too",
    'we are at the site dot',
    'look at it',
  ])('leaves "%s"', (text) => {
    expect(redact(text, ['email'])).toBe(text);
  });
});

describe('SSNs and IBANs', () => {
  it.each([
    ['my social is 123-45-6789', 'my social is [SSN]'],
    ['social security number one two three four five six seven eight nine', 'social security number [SSN]'],
    ['ssn 123 45 6789.', 'ssn [SSN].'],
  ])('%s', (text, expected) => {
    expect(redact(text, ['ssn'])).toBe(expected);
  });

  it('refuses numbers the SSA never issues', () => {
    expect(redact('ssn 666-45-6789', ['ssn'])).toBe('ssn 666-45-6789');
    expect(redact('ssn 123-00-6789', ['ssn'])).toBe('ssn 123-00-6789');
  });

  it.each([
    ['IBAN DE89 3704 0044 0532 0130 00, thanks', 'IBAN [IBAN], thanks'],
    ['to GB29NWBK60161331926819.', 'to [IBAN].'],
    ['FR14 2004 1010 0505 0001 3M02 606', '[IBAN]'],
  ])('%s', (text, expected) => {
    expect(redact(text, ['iban'])).toBe(expected);
  });

  it('leaves an IBAN-shaped string with a bad checksum', () => {
    expect(redact('DE89 3704 0044 0532 0130 01', ['iban'])).toBe('DE89 3704 0044 0532 0130 01');
  });
});

describe('false positives', () => {
  it.each([
    'the visit is at 10:30 tomorrow',
    'at 10 30 am on the 12th',
    'that will be $1,250.00 in total',
    'that will be 1,250,000 in total',
    'it costs 1250 dollars',
    'about 4539 euros and 1488 euros',
    'the model is XR-2000-15 and the part 4539-A',
    'we need 3.5 metres of cable',
    'on 12/25/2024 at 9',
    'the boiler was fitted in 2019, serviced in 2021',
    'oh, I see, one moment',
    'two or three units, maybe four',
    'room 1488 on floor 12',
    'twenty five minutes',
    'a 15 percent discount on 200 units',
  ])('%s', (text) => {
    expect(redact(text)).toBe(text);
  });

  it('finds nothing when no kind is enabled', () => {
    expect(redact('4539 1488 0343 6467 jane@example.com', [])).toBe('4539 1488 0343 6467 jane@example.com');
  });

  it('redacts only the kinds enabled', () => {
    const text = 'card 4539 1488 0343 6467, phone 415 555 0132';
    expect(redact(text, ['card'])).toBe('card [CARD], phone 415 555 0132');
    expect(redact(text, ['phone'])).toBe('card 4539 1488 0343 6467, phone [PHONE]');
  });
});

describe('partials', () => {
  it('redact a number still being said at the end', () => {
    expect(redact('the card is 4539 1488', ['card'], true)).toBe('the card is [CARD]');
    expect(redact('the card is four five three nine', ALL, true)).toBe('the card is [CARD]');
    // Long enough for a phone number: redacted as one when phones are redacted.
    expect(redact('the card is 4539 1488', ALL, true)).toBe('the card is [PHONE]');
    expect(redact('call me on 415 555', ['phone'], true)).toBe('call me on [PHONE]');
  });

  it('leave a short number or one that is not at the end', () => {
    expect(redact('the card is 453', ALL, true)).toBe('the card is 453');
    expect(redact('room 1488 on floor 12', ALL, true)).toBe('room 1488 on floor 12');
    expect(redact('the card is 4539 1488', ['card'], false)).toBe('the card is 4539 1488');
  });

  it('redact an email still being said', () => {
    expect(redact('it is jane.doe at example', ALL, true)).toBe('it is [EMAIL]');
    expect(redact('it is jane.doe at example dot', ALL, true)).toBe('it is [EMAIL]');
    expect(redact('it is jane.doe@exam', ALL, true)).toBe('it is [EMAIL]');
  });
});

describe('redactPieces', () => {
  it('merges the words an entity spans and keeps the others', () => {
    const words = [' the', ' card', ' is', ' 4539', ' 1488', ' 0343', ' 6467.', ' thanks'];
    const { pieces, entities } = redactPieces(words, { kinds: ALL });
    expect(pieces).toEqual([
      { from: 0, to: 0, text: ' the' },
      { from: 1, to: 1, text: ' card' },
      { from: 2, to: 2, text: ' is' },
      { from: 3, to: 6, text: ' [CARD].' },
      { from: 7, to: 7, text: ' thanks' },
    ]);
    expect(entities).toEqual([{ kind: 'card', from: 3, to: 6 }]);
  });

  it('finds an entity split across pieces (segments)', () => {
    const { pieces, entities } = redactPieces([' call 415 555', ' 0132 now'], { kinds: ALL });
    expect(pieces).toEqual([{ from: 0, to: 1, text: ' call [PHONE] now' }]);
    expect(entities).toEqual([{ kind: 'phone', from: 0, to: 1 }]);
  });
});

describe('parseRedactionKinds', () => {
  it('reads a comma list and reports unknown kinds', () => {
    expect(parseRedactionKinds(' card, Phone ,,email')).toEqual({
      kinds: new Set(['card', 'phone', 'email']),
      unknown: [],
    });
    expect(parseRedactionKinds('card,passport').unknown).toEqual(['passport']);
    expect(parseRedactionKinds('').kinds.size).toBe(0);
  });
});
