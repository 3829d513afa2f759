import { describe, expect, it } from 'vitest';
import { PreRoll } from './pre-roll.js';

function newest(preRoll: PreRoll, count: number): number[] {
  const out = new Int16Array(count);
  preRoll.copyNewest(count, out, 0);
  return [...out];
}

describe('PreRoll', () => {
  it('keeps the newest samples across wrap-around, oldest first', () => {
    const preRoll = new PreRoll(5);
    preRoll.push(Int16Array.of(1, 2, 3));
    expect(preRoll.length).toBe(3);
    expect(newest(preRoll, 3)).toEqual([1, 2, 3]);
    preRoll.push(Int16Array.of(4, 5, 6, 7));
    expect(preRoll.length).toBe(5);
    expect(newest(preRoll, 5)).toEqual([3, 4, 5, 6, 7]);
    expect(newest(preRoll, 2)).toEqual([6, 7]);
    preRoll.push(Int16Array.of(8, 9, 10, 11, 12, 13, 14));
    expect(newest(preRoll, 5)).toEqual([10, 11, 12, 13, 14]);
  });

  it('takes silence as zeros pushed', () => {
    const preRoll = new PreRoll(5);
    preRoll.push(Int16Array.of(1, 2, 3, 4));
    preRoll.pushSilence(2);
    expect(newest(preRoll, 5)).toEqual([2, 3, 4, 0, 0]);
    preRoll.pushSilence(50);
    expect(newest(preRoll, 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('refuses more than it holds', () => {
    const preRoll = new PreRoll(5);
    preRoll.push(Int16Array.of(1, 2));
    expect(() => newest(preRoll, 3)).toThrow(RangeError);
    preRoll.clear();
    expect(preRoll.length).toBe(0);
  });
});
