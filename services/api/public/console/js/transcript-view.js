import { duration, el, speakerLabel } from './format.js';

/**
 * A conversation: one line per utterance and speaker, in order of its start in the call. A partial shows the
 * utterance so far and is replaced by later partials and by its final; a final is never replaced. The view
 * follows new lines until the agent scrolls up, then offers a button back to the latest.
 */
export class TranscriptView {
  constructor(container, jumpButton) {
    this.container = container;
    this.jumpButton = jumpButton;
    this.lines = new Map();
    this.following = true;
    this.onLineClick = null;
    this.onWordClick = null;
    container.addEventListener('scroll', () => {
      this.following = this.atBottom();
      if (this.following && this.jumpButton) this.jumpButton.hidden = true;
    });
    jumpButton?.addEventListener('click', () => this.scrollToLatest());
  }

  atBottom() {
    const c = this.container;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 40;
  }

  clear(message) {
    this.lines.clear();
    this.container.replaceChildren();
    if (message) this.container.append(el('p', 'note', message));
    this.following = true;
    if (this.jumpButton) this.jumpButton.hidden = true;
  }

  /** Applies one transcript event (`transcript.partial.v1` or `transcript.final.v1`). */
  apply(event) {
    const key = `${event.speaker}/${event.segmentId}`;
    const known = this.lines.get(key);
    if (known?.final) return;
    const wasAtBottom = this.following;
    const line = known ?? this.createLine(event);
    line.final = event.final;
    line.node.classList.toggle('partial', !event.final);
    if (event.final && event.words?.length) line.text.replaceChildren(...this.wordSpans(event));
    else line.text.textContent = event.text.trim() || '…';
    if (!known) {
      this.lines.set(key, line);
      this.insertInOrder(line.node, event.startMs);
      this.container.querySelector(':scope > .note')?.remove();
    }
    if (wasAtBottom) this.scrollToLatest();
    else if (this.jumpButton) this.jumpButton.hidden = false;
  }

  /** Shows stored final segments (a past call). */
  show(segments, emptyMessage) {
    this.clear(segments.length === 0 ? emptyMessage : undefined);
    for (const segment of segments) this.apply({ ...segment, final: true });
    this.container.scrollTop = 0;
  }

  /** Each timed word a span of its own: a click seeks to it, and it is marked while it is being said. */
  wordSpans(event) {
    return event.words.map((word, i) => {
      const span = el('span', 'word', i === 0 ? word.text.trimStart() : word.text);
      span.dataset.start = String(word.startMs);
      span.dataset.end = String(word.endMs);
      span.addEventListener('click', (e) => {
        e.stopPropagation();
        this.onWordClick?.(word, event);
      });
      return span;
    });
  }

  /**
   * Marks what is being said at `ms` (of `speaker`, or of anyone): the word where the utterance has word
   * timings, else the whole utterance.
   */
  markSpeaking(ms, speaker) {
    for (const node of this.container.querySelectorAll('.speaking')) node.classList.remove('speaking');
    if (ms === null) return;
    for (const { node } of this.lines.values()) {
      if (speaker && node.dataset.speaker !== speaker) continue;
      const words = node.querySelectorAll('.word');
      const within = (n) => Number(n.dataset.start) <= ms && ms < Number(n.dataset.end);
      if (words.length === 0) {
        if (within(node)) node.classList.add('speaking');
        continue;
      }
      for (const word of words) if (within(word)) word.classList.add('speaking');
    }
  }

  createLine(event) {
    const text = el('p', 'text');
    const node = el('div', `line speaker-${event.speaker.replace(/[^a-z0-9-]/g, '')}`, [
      el('span', 'who', speakerLabel(event.speaker)),
      el('span', 'at', duration(event.startMs)),
      text,
    ]);
    node.dataset.start = String(event.startMs);
    node.dataset.end = String(event.endMs);
    node.dataset.speaker = event.speaker;
    node.addEventListener('click', () => this.onLineClick?.(event));
    return { node, text, final: false };
  }

  insertInOrder(node, startMs) {
    const later = [...this.container.children].find((child) => Number(child.dataset.start) > startMs);
    this.container.insertBefore(node, later ?? null);
  }

  scrollToLatest() {
    this.container.scrollTop = this.container.scrollHeight;
    this.following = true;
    if (this.jumpButton) this.jumpButton.hidden = true;
  }
}
