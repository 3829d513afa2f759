import type { Prng } from './prng.js';

export interface PlannedCall {
  index: number;
  callSid: string;
  /** From the start of the run's first call. */
  offsetMs: number;
}

/** CallSids and start offsets drawn from the seed: the reference and the faulted run place the same calls. */
export function planCalls(prng: Prng, count: number, spreadMs: number): PlannedCall[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    callSid: `CA${Array.from({ length: 32 }, () => prng.int(16).toString(16)).join('')}`,
    offsetMs: index === 0 ? 0 : Math.round(prng.between(0, spreadMs)),
  }));
}
