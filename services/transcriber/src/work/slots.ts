import { CalltxError } from '@calltx/events';

/** Lower runs first: live finals, then live partials, then post-call recordings. */
export const PRIORITY = { final: 0, partial: 1, recording: 2 } as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

/** The slots were closed (shutdown) before this waiter got one: its message goes back to the queue. */
export class SlotsClosedError extends CalltxError {
  constructor() {
    super('shutting down: work not started', { retryable: true });
  }
}

interface Waiter {
  priority: Priority;
  order: number;
  resolve: (release: () => void) => void;
  reject: (error: Error) => void;
}

/**
 * A priority semaphore over the replica's inference capacity. All CPU-heavy work (inference, VAD over
 * recordings) runs inside a slot; a freed slot goes to the most urgent waiter, first come first served
 * within a priority, so a long post-call job yields to live speech between its steps.
 */
export class WorkSlots {
  private free: number;
  private readonly waiters: Waiter[] = [];
  private counter = 0;
  private closed = false;

  constructor(readonly size: number) {
    this.free = size;
  }

  get busy(): number {
    return this.size - this.free;
  }

  /** Resolves with the function that gives the slot back (call it exactly once). */
  acquire(priority: Priority): Promise<() => void> {
    if (this.closed) return Promise.reject(new SlotsClosedError());
    if (this.free > 0 && this.waiters.length === 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ priority, order: this.counter++, resolve, reject });
    });
  }

  /** Runs `work` inside a slot of the given priority. */
  async run<T>(priority: Priority, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(priority);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Waiters get SlotsClosedError; slots in use finish normally. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new SlotsClosedError());
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.nextWaiter();
      if (next) next.resolve(this.releaser());
      else this.free++;
    };
  }

  private nextWaiter(): Waiter | undefined {
    let best = -1;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      const b = this.waiters[best];
      if (!b || w.priority < b.priority || (w.priority === b.priority && w.order < b.order)) best = i;
    }
    return best < 0 ? undefined : this.waiters.splice(best, 1)[0];
  }
}
