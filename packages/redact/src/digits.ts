import type { Atom } from './atoms.js';

/**
 * Digit runs: numbers as people say them and Whisper writes them, one digit string per run. A run joins digit
 * groups ("4539 1488", "415-555-0132", "+44"), digit words ("four", "oh" beside another digit, "double five",
 * "twenty one", "eight hundred"), across commas, "dash" and fillers ("um"). Amounts, times, decimals, dates and
 * words with letters in them ("XR-2000", "1st") are not digits and break a run.
 */
export interface DigitUnit {
  /** First and last atom (a unit such as "double five" spans two). */
  from: number;
  to: number;
  digits: string;
  /** A digit group as written ("4539", "123-45-6789"), not a spoken digit word. */
  written: boolean;
}

export interface DigitRun {
  units: DigitUnit[];
  digits: string;
  /** Written with a leading "+" (an international phone number). */
  plus: boolean;
}

const WORD_DIGITS: Record<string, string> = {
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  fifteen: '15',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
};
const TENS: Record<string, string> = {
  twenty: '2',
  thirty: '3',
  forty: '4',
  fifty: '5',
  sixty: '6',
  seventy: '7',
  eighty: '8',
  ninety: '9',
};
/** "oh" and "o" are 0 only beside another digit ("oh one three two"), never on their own ("oh, I see"). */
const OH = new Set(['oh', 'o']);
const MULTIPLIERS: Record<string, number> = { double: 2, triple: 3 };
/** Said between digits without ending the number. */
const CONNECTORS = new Set(['dash', 'hyphen', '-', '–', 'um', 'uh', 'er', 'erm', 'ah', 'hmm']);
/** A number followed by one of these is an amount, a time or a measure, not an identifier. */
const UNITS = new Set([
  'dollar',
  'dollars',
  'bucks',
  'cent',
  'cents',
  'euro',
  'euros',
  'pound',
  'pounds',
  'pence',
  'percent',
  'per',
  'usd',
  'eur',
  'gbp',
  'am',
  'pm',
  'a.m',
  'p.m',
  "o'clock",
  'seconds',
  'minutes',
  'hours',
  'days',
  'weeks',
  'months',
  'years',
  'kg',
  'km',
  'miles',
  'meters',
  'metres',
  'feet',
  'inches',
  'degrees',
  'volts',
  'watts',
  'psi',
]);
const CURRENCY = /[$€£¥%]/;
/** A digit group: "4539", "415-555-0132", "+44", "415.555.0132". A single "3.5" is a decimal, not a group. */
const GROUP = /^\+?\d+(?:-\d+)*$|^\d+(?:\.\d+){2,}$/;

type Kind =
  | { type: 'digits'; digits: string; written: boolean; plus: boolean }
  | { type: 'oh' }
  | { type: 'tens'; digit: string }
  | { type: 'hundred' }
  | { type: 'multiplier'; times: number }
  | { type: 'connector' }
  | { type: 'other' };

function kindOf(atom: Atom, next: Atom | undefined): Kind {
  const lower = atom.lower;
  const beforeUnit = next !== undefined && UNITS.has(next.lower.replace(/\.$/, ''));
  if (CURRENCY.test(atom.raw) || beforeUnit) return { type: 'other' };
  if (GROUP.test(atom.core)) {
    return {
      type: 'digits',
      digits: atom.core.replace(/\D/g, ''),
      written: true,
      plus: atom.core.startsWith('+'),
    };
  }
  // Whisper writes spoken digits with hyphens at times ("four-one-one-one"): each part a digit word.
  const parts = lower.split('-');
  if (parts.length > 1 && parts.every((part) => WORD_DIGITS[part] !== undefined || OH.has(part))) {
    const digits = parts.map((part) => WORD_DIGITS[part] ?? '0').join('');
    return { type: 'digits', digits, written: false, plus: false };
  }
  const word = WORD_DIGITS[lower];
  if (word !== undefined) return { type: 'digits', digits: word, written: false, plus: false };
  if (OH.has(lower)) return { type: 'oh' };
  const tens = TENS[lower];
  if (tens !== undefined) return { type: 'tens', digit: tens };
  if (lower === 'hundred') return { type: 'hundred' };
  const times = MULTIPLIERS[lower];
  if (times !== undefined) return { type: 'multiplier', times };
  if (CONNECTORS.has(lower)) return { type: 'connector' };
  return { type: 'other' };
}

/** Whether a kind can start a digit (alone or with what follows). */
const digitLike = (kind: Kind | undefined): boolean =>
  kind !== undefined && (kind.type === 'digits' || kind.type === 'tens');

/**
 * The digit runs of `atoms`, skipping atoms in `taken` (already part of another entity). Each atom belongs to at
 * most one run.
 */
export function digitRuns(atoms: readonly Atom[], taken: ReadonlySet<number> = new Set()): DigitRun[] {
  const kinds = atoms.map((atom, i) =>
    taken.has(i) ? ({ type: 'other' } as const) : kindOf(atom, atoms[i + 1]),
  );
  const runs: DigitRun[] = [];
  let units: DigitUnit[] = [];
  let plus = false;
  const close = () => {
    if (units.length > 0) runs.push({ units, digits: units.map((u) => u.digits).join(''), plus });
    units = [];
    plus = false;
  };
  /** Whether a digit follows atom `i`, after connectors, "oh"s and multipliers. */
  const digitAhead = (i: number): boolean => {
    for (let j = i + 1; j < kinds.length; j++) {
      const kind = kinds[j]!;
      if (digitLike(kind) || kind.type === 'oh') return digitLike(kind) || digitAhead(j);
      if (kind.type !== 'connector' && kind.type !== 'multiplier') return false;
    }
    return false;
  };

  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]!;
    const inRun = units.length > 0;
    switch (kind.type) {
      case 'digits':
        if (!inRun) plus = kind.plus;
        units.push({ from: i, to: i, digits: kind.digits, written: kind.written });
        break;
      case 'oh':
        if (inRun || digitAhead(i)) units.push({ from: i, to: i, digits: '0', written: false });
        else close();
        break;
      case 'tens': {
        // "twenty one" is 21; "twenty" alone is 20.
        const next = kinds[i + 1];
        if (next?.type === 'digits' && !next.written && next.digits.length === 1 && next.digits !== '0') {
          units.push({ from: i, to: i + 1, digits: kind.digit + next.digits, written: false });
          i++;
        } else units.push({ from: i, to: i, digits: `${kind.digit}0`, written: false });
        break;
      }
      case 'hundred':
        if (inRun) units.push({ from: i, to: i, digits: '00', written: false });
        else close();
        break;
      case 'multiplier': {
        // "double five" is 55, "triple oh" 000.
        const next = kinds[i + 1];
        const digits = next?.type === 'digits' ? next.digits : next?.type === 'oh' ? '0' : undefined;
        if (digits === undefined) {
          close();
          break;
        }
        units.push({
          from: i,
          to: i + 1,
          digits: digits[0]!.repeat(kind.times) + digits.slice(1),
          written: false,
        });
        i++;
        break;
      }
      case 'connector':
        if (!inRun || !digitAhead(i)) close();
        break;
      case 'other':
        close();
        break;
    }
  }
  close();
  return runs;
}
