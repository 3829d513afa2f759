/**
 * Hands PGlite's single backend to one client connection at a time. A connection keeps it from its first
 * message until the backend is idle again (ReadyForQuery 'I'), i.e. for a whole simple query, extended-
 * protocol batch or explicit transaction; waiting connections are served first come, first served.
 */
export class TransactionArbiter<Owner> {
  private owner: Owner | null = null;
  private readonly waiters: Array<{ who: Owner; grant: () => void; fail: (error: Error) => void }> = [];

  isOwner(who: Owner): boolean {
    return this.owner === who;
  }

  /** Resolves once `who` owns the backend; rejects after `timeoutMs` so a stuck peer cannot hang it forever. */
  acquire(who: Owner, timeoutMs: number): Promise<void> {
    if (this.owner === who) return Promise.resolve();
    if (this.owner === null) {
      this.owner = who;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.forget(
            who,
            new Error(`waited ${timeoutMs} ms for another connection's transaction to finish`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        who,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  release(who: Owner): void {
    if (this.owner !== who) return;
    const next = this.waiters.shift();
    this.owner = next ? next.who : null;
    next?.grant();
  }

  /** Drops a waiting connection (it timed out or went away); its pending `acquire` rejects with `reason`. */
  forget(who: Owner, reason: Error): void {
    const index = this.waiters.findIndex((waiter) => waiter.who === who);
    if (index < 0) return;
    const [waiter] = this.waiters.splice(index, 1);
    waiter?.fail(reason);
  }
}
