import { performance } from 'node:perf_hooks';

/** Something that emits frames on a schedule, driven by the shared pacer. */
export interface PacedSender {
  /**
   * Sends everything due at `now` (a `performance.now()` time) and returns when it next needs to run:
   * a time in the future, `now` or earlier to run again as soon as I/O allows, or `Infinity` when finished.
   */
  pump(now: number): number;
}

/** Shortest timer the pacer arms; frames due within it go out together (≤ 1 ms early, see senders). */
const MIN_TIMER_MS = 1;

/**
 * One timer for every call in the process. Each wake-up pumps all senders once, then re-arms a single timer
 * for the earliest next due time. Hundreds of calls cost one timer rather than one per call, and since each
 * sender schedules against its own absolute start time, wake-up jitter never accumulates into drift.
 */
class Pacer {
  private readonly senders = new Set<PacedSender>();
  private armedFor = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  add(sender: PacedSender): void {
    this.senders.add(sender);
    this.wakeAt(performance.now());
  }

  delete(sender: PacedSender): void {
    this.senders.delete(sender);
    if (this.senders.size === 0) this.disarm();
  }

  private readonly run = (): void => {
    this.disarm();
    const now = performance.now();
    let next = Infinity;
    for (const sender of this.senders) {
      const due = sender.pump(now);
      if (due === Infinity) this.senders.delete(sender);
      else if (due < next) next = due;
    }
    if (next !== Infinity) this.wakeAt(next);
  };

  private wakeAt(due: number): void {
    if (due >= this.armedFor) return;
    this.disarm();
    this.armedFor = due;
    const delay = due - performance.now();
    if (delay <= 0) this.immediate = setImmediate(this.run);
    else this.timer = setTimeout(this.run, Math.max(MIN_TIMER_MS, Math.ceil(delay)));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = Infinity;
  }
}

/** The process-wide pacer shared by all simulated calls. */
export const pacer = new Pacer();
