import { describe, expect, it } from 'vitest';
import { Prng, seedFrom } from './prng.js';

describe('Prng', () => {
  it('replays the same sequence from the same seed, and another from another seed', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 8 },
        (
          (p) => () =>
            p.next()
        )(new Prng(seed)),
      );
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(7).every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('shuffles into a permutation', () => {
    const shuffled = new Prng(1).shuffle([1, 2, 3, 4, 5, 6]);
    expect([...shuffled].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes FAULTS_SEED as given and refuses what is not a 32-bit seed', () => {
    expect(seedFrom('12345')).toBe(12345);
    expect(() => seedFrom('abc')).toThrow(RangeError);
    expect(() => seedFrom('-1')).toThrow(RangeError);
    expect(seedFrom(undefined)).toBeGreaterThanOrEqual(0);
  });
});
