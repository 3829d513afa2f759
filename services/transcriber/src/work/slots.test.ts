import { describe, expect, it } from 'vitest';
import { PRIORITY, SlotsClosedError, WorkSlots } from './slots.js';

describe('WorkSlots', () => {
  it('hands a freed slot to the most urgent waiter, first come first served within a priority', async () => {
    const slots = new WorkSlots(1);
    const order: string[] = [];
    const release = await slots.acquire(PRIORITY.recording);
    const waiters = [
      ['recording-1', PRIORITY.recording],
      ['partial-1', PRIORITY.partial],
      ['final-1', PRIORITY.final],
      ['partial-2', PRIORITY.partial],
      ['final-2', PRIORITY.final],
    ] as const;
    const done = waiters.map(([name, priority]) =>
      slots.run(priority, async () => {
        order.push(name);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }),
    );
    release();
    await Promise.all(done);
    expect(order).toEqual(['final-1', 'final-2', 'partial-1', 'partial-2', 'recording-1']);
    expect(slots.busy).toBe(0);
  });

  it('runs up to its size at once', async () => {
    const slots = new WorkSlots(2);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        slots.run(PRIORITY.final, async () => {
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
  });

  it('refuses waiters once closed while work in a slot finishes', async () => {
    const slots = new WorkSlots(1);
    let finished = false;
    const running = slots.run(PRIORITY.final, async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      finished = true;
    });
    const waiting = slots.acquire(PRIORITY.final);
    slots.close();
    await expect(waiting).rejects.toBeInstanceOf(SlotsClosedError);
    await expect(slots.acquire(PRIORITY.partial)).rejects.toBeInstanceOf(SlotsClosedError);
    await running;
    expect(finished).toBe(true);
  });
});
