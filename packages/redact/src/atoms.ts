/**
 * A transcript cut into whitespace-separated words ("atoms"), each with its core: the word without the
 * punctuation Whisper puts around it (commas, full stops, quotes, brackets). Offsets are into the text.
 */
export interface Atom {
  /** Offsets of the core in the text: what a redaction replaces. */
  start: number;
  end: number;
  core: string;
  /** The core in lower case. */
  lower: string;
  /** The whole word, punctuation included. */
  raw: string;
  /** Punctuation after the core: a comma or full stop ends what is being said. */
  trail: string;
}

const LEADING = /^[("'“‘[{¿¡]+/;
const TRAILING = /[.,;:!?)"'”’\]}…]+$/;

export function atomsOf(text: string): Atom[] {
  const atoms: Atom[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    const raw = match[0];
    const lead = LEADING.exec(raw)?.[0].length ?? 0;
    const rest = raw.slice(lead);
    const trail = TRAILING.exec(rest)?.[0].length ?? 0;
    const core = rest.slice(0, rest.length - trail);
    if (core === '') continue;
    const start = match.index + lead;
    atoms.push({
      start,
      end: start + core.length,
      core,
      lower: core.toLowerCase(),
      raw,
      trail: rest.slice(core.length),
    });
  }
  return atoms;
}
