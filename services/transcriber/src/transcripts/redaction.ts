import type { TranscriptRedaction } from '@calltx/events';
import { redactPieces, redactText, type PieceEntity, type RedactionKind } from '@calltx/redact';
import type { RecognisedWord, TimedText } from '../engine/recognizer.js';

interface FinalText {
  startMs: number;
  endMs: number;
  text: string;
  segments: TimedText[] | null;
  words: RecognisedWord[] | null;
}

/**
 * TRANSCRIPT_REDACT applied to what the model said, before anything is stored, published or logged: each entity
 * becomes its tag in the text, the segments and the words, and its span is listed in `redactions`. Off (no
 * kinds), transcripts pass unchanged and carry no `redactions`.
 */
export class TranscriptRedactor {
  private readonly kinds: ReadonlySet<RedactionKind>;

  constructor(kinds: Iterable<RedactionKind>) {
    this.kinds = new Set(kinds);
  }

  /** A final: its text, segments and words redacted; spans timed by the words, else the segments, else the utterance. */
  final<T extends FinalText>(final: T): T & { redactions: TranscriptRedaction[] | null } {
    if (this.kinds.size === 0) return { ...final, redactions: null };
    const options = { kinds: this.kinds };
    const text = redactText(final.text, options);
    const segments = final.segments && redactTimed(final.segments, options);
    const words = final.words && redactTimed(final.words, options);
    const utterance = { startMs: final.startMs, endMs: final.endMs };
    const redactions =
      [words?.redactions, segments?.redactions].find((found) => found !== undefined && found.length > 0) ??
      text.kinds.map((kind) => ({ kind, ...utterance }));
    return {
      ...final,
      text: text.text,
      segments: segments?.items ?? null,
      words: words?.items ?? null,
      redactions,
    };
  }

  /**
   * A partial: redacted as a final is, and a number or email still being said at its end is redacted too (it may
   * be the start of a card number the next partial completes). Spans are the utterance's: partials have no timing.
   */
  partial(
    text: string,
    startMs: number,
    endMs: number,
  ): { text: string; redactions?: TranscriptRedaction[] } {
    if (this.kinds.size === 0) return { text };
    const redacted = redactText(text, { kinds: this.kinds, partial: true });
    return { text: redacted.text, redactions: redacted.kinds.map((kind) => ({ kind, startMs, endMs })) };
  }
}

/** Timed pieces redacted: the pieces an entity spans merge into one holding the tag, timed over all of them. */
function redactTimed<T extends TimedText & { probability?: number }>(
  items: readonly T[],
  options: { kinds: ReadonlySet<RedactionKind> },
): { items: T[]; redactions: TranscriptRedaction[] } {
  const { pieces, entities } = redactPieces(
    items.map((item) => item.text),
    options,
  );
  const merged = pieces.map(({ from, to, text }) => {
    const first = items[from]!;
    if (from === to) return { ...first, text };
    const span = items.slice(from, to + 1);
    const item: T = { ...first, text, endMs: items[to]!.endMs };
    if (first.probability !== undefined) item.probability = Math.min(...span.map((s) => s.probability ?? 1));
    return item;
  });
  const timed = (e: PieceEntity) => ({
    kind: e.kind,
    startMs: items[e.from]!.startMs,
    endMs: items[e.to]!.endMs,
  });
  return { items: merged, redactions: entities.map(timed) };
}
