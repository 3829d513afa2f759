import { describe, expect, it } from 'vitest';
import { PartialGate } from './partial-gate.js';

const at = (ms: number) => new Date(ms).toISOString();

describe('PartialGate', () => {
  it('drops partials whose audio ended longer ago than the limit', () => {
    let now = 10_000;
    const gate = new PartialGate(2_000, 100, () => now);
    const partial = { segmentId: 's', endMs: 1000, audioEndAt: at(9_000) };
    expect(gate.check(partial)).toBeNull();
    now = 11_001;
    expect(gate.check(partial)).toBe('stale');
  });

  it('drops a partial once a newer partial or the final of its utterance was seen', () => {
    const gate = new PartialGate(60_000);
    const audioEndAt = new Date().toISOString();
    const older = { segmentId: 's', endMs: 1000, audioEndAt };
    gate.notePartial('s', 1000);
    expect(gate.check(older)).toBeNull();
    gate.notePartial('s', 2000);
    expect(gate.check(older)).toBe('superseded');
    expect(gate.check({ ...older, endMs: 2000 })).toBeNull();
    expect(gate.check({ ...older, segmentId: 'other' })).toBeNull();
    gate.noteFinal('s');
    expect(gate.superseded({ segmentId: 's', endMs: 2000 })).toBe(true);
  });

  it('forgets the oldest utterances beyond its bound', () => {
    const gate = new PartialGate(60_000, 2);
    gate.noteFinal('a');
    gate.noteFinal('b');
    gate.noteFinal('c');
    expect(gate.superseded({ segmentId: 'a', endMs: 0 })).toBe(false);
    expect(gate.superseded({ segmentId: 'c', endMs: 0 })).toBe(true);
  });
});
