import { recognise, type RecogniseOptions, type RedactionKind } from './recognise.js';

export const REDACTION_TAGS: Readonly<Record<RedactionKind, string>> = {
  card: '[CARD]',
  phone: '[PHONE]',
  email: '[EMAIL]',
  ssn: '[SSN]',
  iban: '[IBAN]',
};

/** Pieces `from`..`to` of the input, merged because an entity spans them, with their redacted text. */
export interface RedactedPiece {
  from: number;
  to: number;
  text: string;
}

/** An entity found, as the first and last piece it touches. */
export interface PieceEntity {
  kind: RedactionKind;
  from: number;
  to: number;
}

export interface Redacted {
  pieces: RedactedPiece[];
  entities: PieceEntity[];
}

/**
 * Redacts text given in pieces that join into one text (a final's words or segments): entities are found in the
 * joined text, so one said across pieces is found too. Each entity becomes its tag; the pieces it spans merge
 * into one (" 4539", " 1488", ... becomes " [CARD]"), so a caller keeps each piece's times and merges theirs.
 */
export function redactPieces(pieces: readonly string[], options: RecogniseOptions): Redacted {
  const text = pieces.join('');
  const found = recognise(text, options);
  const starts: number[] = [];
  let offset = 0;
  for (const piece of pieces) {
    starts.push(offset);
    offset += piece.length;
  }
  const pieceAt = (at: number): number => {
    let i = pieces.length - 1;
    while (i > 0 && starts[i]! > at) i--;
    return i;
  };
  const entities = found.map((e) => ({ kind: e.kind, from: pieceAt(e.start), to: pieceAt(e.end - 1) }));

  const groups: Array<{ from: number; to: number }> = [];
  for (let i = 0; i < pieces.length; i++) {
    const last = groups.at(-1);
    const joined = last !== undefined && entities.some((e) => e.from <= last.to && e.to >= i);
    if (joined) last.to = i;
    else groups.push({ from: i, to: i });
  }
  const out = groups.map(({ from, to }) => {
    const start = starts[from]!;
    const end = starts[to]! + pieces[to]!.length;
    let redacted = text.slice(start, end);
    for (const e of found.filter((f) => f.start >= start && f.end <= end).reverse()) {
      redacted = redacted.slice(0, e.start - start) + REDACTION_TAGS[e.kind] + redacted.slice(e.end - start);
    }
    return { from, to, text: redacted };
  });
  return { pieces: out, entities };
}

/** Redacts one text: each entity becomes its tag. */
export function redactText(
  text: string,
  options: RecogniseOptions,
): { text: string; kinds: RedactionKind[] } {
  const { pieces, entities } = redactPieces([text], options);
  return { text: pieces[0]?.text ?? text, kinds: entities.map((e) => e.kind) };
}

/** Parses a comma list of kinds (`card,phone,email`); unknown names are reported, empty means none. */
export function parseRedactionKinds(list: string): { kinds: Set<RedactionKind>; unknown: string[] } {
  const names = list
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const known = new Set<string>(Object.keys(REDACTION_TAGS));
  return {
    kinds: new Set(names.filter((name): name is RedactionKind => known.has(name))),
    unknown: names.filter((name) => !known.has(name)),
  };
}
