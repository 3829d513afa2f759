import { describe, expect, it } from 'vitest';
import type { WhisperModelConfig } from './config.js';
import { argmax, findRepetitionLoop, LogitRules, loopRepeatsNeeded } from './rules.js';

// A toy vocabulary: 0..9 text, 10 EOT, 11 SOT, 12..13 languages, 14 translate, 15 transcribe, 16 nocaptions,
// 17 notimestamps, 18..27 timestamps (0.0 s .. 1.8 s).
const config: WhisperModelConfig = {
  nMels: 80,
  dModel: 4,
  decoderLayers: 1,
  decoderHeads: 1,
  vocabSize: 28,
  maxTargetPositions: 16,
  isMultilingual: true,
  languages: new Map([
    ['en', 12],
    ['de', 13],
  ]),
  tokens: {
    eot: 10,
    sot: 11,
    transcribe: 15,
    translate: 14,
    noTimestamps: 17,
    noSpeech: 16,
    startOfPrev: undefined,
    timestampBegin: 18,
  },
  suppressTokens: [3],
  beginSuppressTokens: [0, 10],
  maxInitialTimestampIndex: 2,
  timePrecision: 0.2,
  timestampCount: 10,
  alignmentHeads: [],
  medianFilterWidth: 7,
};
const TB = 18;

function filtered(
  generated: number[],
  withTimestamps: boolean,
  fill: (logits: Float64Array) => void = () => undefined,
): Float64Array {
  const logits = new Float64Array(config.vocabSize);
  fill(logits);
  new LogitRules(config).apply(logits, generated, withTimestamps);
  return logits;
}
const allowed = (logits: Float64Array): number[] => [...logits.keys()].filter((i) => logits[i]! > -Infinity);

describe('LogitRules', () => {
  it('without timestamps allows text and EOT only, minus suppress_tokens and, first, begin_suppress_tokens', () => {
    expect(allowed(filtered([], false))).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
    expect(allowed(filtered([5], false))).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('starts with a timestamp no later than max_initial_timestamp_index', () => {
    expect(allowed(filtered([], true))).toEqual([TB, TB + 1, TB + 2]);
  });

  it('follows an opening timestamp with text and a closing one with a timestamp or EOT', () => {
    expect(allowed(filtered([TB + 1], true, (l) => l.fill(-5, TB)))).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
    const afterPair = allowed(
      filtered([TB + 1, 5, TB + 4], true, (l) => {
        l.fill(1);
        l[10] = 5; // EOT likely enough not to be overruled by the timestamps' total
      }),
    );
    expect(afterPair).toEqual([10, TB + 4, TB + 5, TB + 6, TB + 7, TB + 8, TB + 9]);
  });

  it('never lets timestamps go backwards', () => {
    const logits = filtered([TB + 1, 5, TB + 4, TB + 4, 6], true, (l) => l.fill(-3, TB));
    expect(allowed(logits).filter((t) => t >= TB)).toEqual([TB + 5, TB + 6, TB + 7, TB + 8, TB + 9]);
  });

  it('forces a timestamp when the timestamps together outweigh every single text token', () => {
    // Each text token has logit 0; ten timestamps at -1 sum to more probability than one text token.
    const logits = filtered([TB, 5], true, (l) => l.fill(-1, TB));
    expect(allowed(logits).every((t) => t >= TB)).toBe(true);
    const textWins = filtered([TB, 5], true, (l) => {
      l.fill(-10, TB);
      l[7] = 5;
    });
    expect(argmax(textWins)).toBe(7);
  });
});

describe('findRepetitionLoop', () => {
  it('finds a repeated phrase at the tail and keeps one copy', () => {
    const phrase = [7, 8, 9, 10];
    const tokens = [1, 2, ...phrase, ...phrase, ...phrase];
    expect(loopRepeatsNeeded(4)).toBe(3);
    expect(findRepetitionLoop(tokens)).toBe(2 + phrase.length);
  });

  it('needs many copies of short n-grams before calling it a loop', () => {
    expect(findRepetitionLoop([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5])).toBeUndefined(); // 11 x "5"
    expect(findRepetitionLoop([1, ...Array<number>(12).fill(5)])).toBe(2);
    expect(findRepetitionLoop([1, 2, 1, 2, 1, 2, 1, 2, 1, 2])).toBeUndefined(); // 5 x "1 2" < 6
    expect(findRepetitionLoop([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2])).toBe(2);
  });

  it('ignores repeats that are not at the tail', () => {
    expect(findRepetitionLoop([4, 5, 6, 4, 5, 6, 4, 5, 6, 1, 2])).toBeUndefined();
  });
});
