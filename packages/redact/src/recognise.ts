import { getCountrySpecifications, isValidIBAN } from 'ibantools';
import { atomsOf, type Atom } from './atoms.js';
import { digitRuns, type DigitRun, type DigitUnit } from './digits.js';
import { luhnValid } from './luhn.js';

export const REDACTION_KINDS = ['card', 'phone', 'email', 'ssn', 'iban'] as const;
export type RedactionKind = (typeof REDACTION_KINDS)[number];

export interface RecogniseOptions {
  kinds: ReadonlySet<RedactionKind>;
  /**
   * The text is a partial: what is still being said at its end may be the start of an entity. A trailing digit run
   * of 4 digits or more is taken for the start of a card number (or of the first digit kind enabled), and a
   * trailing "<name> at <domain...>" for the start of an email.
   */
  partial?: boolean;
}

/** An entity found: offsets into the text. */
export interface Entity {
  kind: RedactionKind;
  start: number;
  end: number;
}

const CARD_DIGITS = { min: 13, max: 19 };
/** E.164 allows 15 digits; 7 is the shortest subscriber number said with its area code in common use. */
const PHONE_DIGITS = { min: 7, max: 15 };
const PARTIAL_TRAILING_DIGITS = 4;
const SSN_CONTEXT = new Set(['social', 'security', 'ssn', 'ss']);
const SSN_CONTEXT_ATOMS = 8;

/** Finds the entities of the enabled kinds in `text`, in order, not overlapping. */
export function recognise(text: string, options: RecogniseOptions): Entity[] {
  const { kinds } = options;
  if (kinds.size === 0) return [];
  const atoms = atomsOf(text);
  const found: Array<{ kind: RedactionKind; from: number; to: number }> = [];
  const taken = new Set<number>();
  const take = (kind: RedactionKind, from: number, to: number) => {
    found.push({ kind, from, to });
    for (let i = from; i <= to; i++) taken.add(i);
  };

  // Emails and IBANs first: their letters and digits must not be read as parts of digit runs.
  if (kinds.has('email'))
    for (const e of emails(atoms, options.partial ?? false)) take('email', e.from, e.to);
  if (kinds.has('iban')) for (const e of ibans(atoms, taken)) take('iban', e.from, e.to);
  for (const run of digitRuns(atoms, taken)) {
    for (const e of classifyRun(run, atoms, kinds)) take(e.kind, e.from, e.to);
  }
  if (options.partial) {
    const trailing = trailingRun(atoms, taken);
    const kind = (['card', 'phone', 'ssn', 'iban'] as const).find((k) => kinds.has(k));
    if (trailing && kind) take(kind, trailing.from, trailing.to);
  }

  return found
    .sort((a, b) => a.from - b.from)
    .map(({ kind, from, to }) => ({ kind, start: atoms[from]!.start, end: atoms[to]!.end }));
}

/** The digit run at the very end of a partial, unclaimed, with enough digits to be the start of a number. */
function trailingRun(
  atoms: readonly Atom[],
  taken: ReadonlySet<number>,
): { from: number; to: number } | undefined {
  const last = atoms.length - 1;
  const run = digitRuns(atoms, taken).at(-1);
  if (!run || run.units.at(-1)!.to !== last || taken.has(last)) return undefined;
  if (run.digits.length < PARTIAL_TRAILING_DIGITS) return undefined;
  return { from: run.units[0]!.from, to: last };
}

interface Span {
  kind: RedactionKind;
  from: number;
  to: number;
}

function classifyRun(run: DigitRun, atoms: readonly Atom[], kinds: ReadonlySet<RedactionKind>): Span[] {
  return classifyUnits(run.units, run.plus, atoms, kinds);
}

const span = (kind: RedactionKind, units: readonly DigitUnit[]): Span => ({
  kind,
  from: units[0]!.from,
  to: units.at(-1)!.to,
});

function classifyUnits(
  units: readonly DigitUnit[],
  plus: boolean,
  atoms: readonly Atom[],
  kinds: ReadonlySet<RedactionKind>,
): Span[] {
  if (units.length === 0) return [];
  const digits = units.map((u) => u.digits).join('');
  if (kinds.has('card')) {
    if (isCard(digits)) return [span('card', units)];
    // A card said among other digits ("... 6467 expiry 12 25" is cut by the word, "1985 4539 ..." is not): the
    // longest Luhn-valid window of whole units, the rest classified on its own.
    const window = cardWindow(units);
    if (window) {
      const [i, j] = window;
      return [
        ...classifyUnits(units.slice(0, i), plus, atoms, kinds),
        span('card', units.slice(i, j + 1)),
        ...classifyUnits(units.slice(j + 1), false, atoms, kinds),
      ];
    }
  }
  if (kinds.has('ssn') && isSsn(digits) && (ssnGrouped(units) || ssnContext(atoms, units[0]!.from)))
    return [span('ssn', units)];
  if (kinds.has('phone') && digits.length >= PHONE_DIGITS.min && digits.length <= PHONE_DIGITS.max)
    return [span('phone', units)];
  if (kinds.has('phone') && plus && digits.length >= PHONE_DIGITS.min) return [span('phone', units)];
  return [];
}

function isCard(digits: string): boolean {
  return digits.length >= CARD_DIGITS.min && digits.length <= CARD_DIGITS.max && luhnValid(digits);
}

function cardWindow(units: readonly DigitUnit[]): [number, number] | undefined {
  let best: [number, number] | undefined;
  let bestLength = 0;
  for (let i = 0; i < units.length; i++) {
    let digits = '';
    for (let j = i; j < units.length; j++) {
      digits += units[j]!.digits;
      if (digits.length > CARD_DIGITS.max) break;
      if (digits.length > bestLength && isCard(digits)) {
        best = [i, j];
        bestLength = digits.length;
      }
    }
  }
  return best;
}

/** The SSA's rules: no area 000, 666 or 9xx, no group 00, no serial 0000. */
function isSsn(digits: string): boolean {
  if (digits.length !== 9) return false;
  const area = digits.slice(0, 3);
  return (
    area !== '000' &&
    area !== '666' &&
    area[0] !== '9' &&
    digits.slice(3, 5) !== '00' &&
    digits.slice(5) !== '0000'
  );
}

/** Written or said 3-2-4 ("123-45-6789", "123 45 6789"). */
function ssnGrouped(units: readonly DigitUnit[]): boolean {
  if (units.length === 1) return /^\d{3}-\d{2}-\d{4}$/.test(units[0]!.digits) || units[0]!.written;
  return units.map((u) => u.digits.length).join(',') === '3,2,4';
}

function ssnContext(atoms: readonly Atom[], from: number): boolean {
  for (let i = Math.max(0, from - SSN_CONTEXT_ATOMS); i < from; i++)
    if (SSN_CONTEXT.has(atoms[i]!.lower)) return true;
  return false;
}

// ---- emails -------------------------------------------------------------------------------------------------

const WRITTEN_EMAIL = /^[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}$/i;
const LOCAL_WORD = /^[a-z0-9._%+-]+$/i;
const DOMAIN_WORD = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/i;
const TLD = /(?:^|\.)[a-z]{2,24}$/i;
const DOTS = new Set(['dot', 'period', 'point']);
const LOCAL_JOINERS = new Set(['dot', 'period', 'underscore', 'dash', 'hyphen', 'plus']);

/**
 * Emails written ("jane.doe@example.com") or said ("jane dot doe at example dot com", "jane.doe at example.com").
 * A said one needs a dot in its domain and a final label of letters, so "meet me at home" is not one.
 */
function emails(atoms: readonly Atom[], partial: boolean): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (let k = 0; k < atoms.length; k++) {
    const atom = atoms[k]!;
    if (WRITTEN_EMAIL.test(atom.core)) {
      out.push({ from: k, to: k });
      continue;
    }
    if (partial && k === atoms.length - 1 && /^[a-z0-9._%+-]+@/i.test(atom.core)) {
      out.push({ from: k, to: k });
      continue;
    }
    if (atom.lower !== 'at' && atom.core !== '@') continue;
    const from = localStart(atoms, k);
    if (from === undefined) continue;
    const to = domainEnd(atoms, k, partial);
    if (to === undefined) continue;
    out.push({ from, to });
    k = to;
  }
  return out.filter((e, i) => i === 0 || e.from > out[i - 1]!.to);
}

/** The first atom of the local part before "at" at `k`: a word, or words joined by "dot", "underscore"... */
function localStart(atoms: readonly Atom[], k: number): number | undefined {
  let i = k - 1;
  if (i < 0 || !LOCAL_WORD.test(atoms[i]!.core) || atomEndsClause(atoms[i]!)) return undefined;
  while (i >= 2 && LOCAL_JOINERS.has(atoms[i - 1]!.lower) && LOCAL_WORD.test(atoms[i - 2]!.core)) i -= 2;
  return i;
}

/** The last atom of the domain after "at" at `k`, or undefined when what follows is no domain. */
function domainEnd(atoms: readonly Atom[], k: number, partial: boolean): number | undefined {
  let i = k + 1;
  const first = atoms[i];
  if (!first || !DOMAIN_WORD.test(first.core)) return partial && !first ? k : undefined;
  let labels = first.core;
  let end = i;
  while (!atomEndsClause(atoms[end]!) && DOTS.has(atoms[end + 1]?.lower ?? '')) {
    const label = atoms[end + 2];
    if (!label || !DOMAIN_WORD.test(label.core)) break;
    labels += `.${label.core}`;
    end += 2;
  }
  i = end;
  if (labels.includes('.') && TLD.test(labels)) return i;
  // Still being said: "jane at example" or "jane at example dot" at the end of a partial.
  const last = atoms.length - 1;
  if (partial && (i === last || (i === last - 1 && DOTS.has(atoms[last]!.lower)))) return last;
  return undefined;
}

/** A word followed by punctuation ends what is being said: "... at home. Dot said" is no domain. */
const atomEndsClause = (atom: Atom): boolean => atom.trail !== '';

// ---- IBANs --------------------------------------------------------------------------------------------------

const COUNTRY_CHARS = new Map(
  Object.entries(getCountrySpecifications()).flatMap(([code, spec]) =>
    spec.chars && spec.IBANRegistry ? [[code, spec.chars] as const] : [],
  ),
);
const IBAN_START = /^[A-Z]{2}\d{2}[A-Z0-9]*$/;
const IBAN_GROUP = /^[A-Z0-9]{1,8}$/;

/** IBANs as written ("DE89 3704 0044 0532 0130 00" or compact), checked by ibantools (country length, mod 97). */
function ibans(atoms: readonly Atom[], taken: ReadonlySet<number>): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (let k = 0; k < atoms.length; k++) {
    if (taken.has(k) || !IBAN_START.test(atoms[k]!.core)) continue;
    const length = COUNTRY_CHARS.get(atoms[k]!.core.slice(0, 2));
    if (length === undefined) continue;
    let compact = '';
    for (let j = k; j < atoms.length && !taken.has(j); j++) {
      if (j > k && !IBAN_GROUP.test(atoms[j]!.core)) break;
      compact += atoms[j]!.core;
      if (compact.length > length) break;
      if (compact.length === length) {
        if (isValidIBAN(compact)) {
          out.push({ from: k, to: j });
          k = j;
        }
        break;
      }
    }
  }
  return out;
}
