import type { WhisperModelConfig } from './config.js';

/**
 * Whisper's logit filters for greedy decoding, applied in place to one row of logits:
 * - control tokens (<|startoftranscript|> .. <|notimestamps|>) are never generated;
 * - `suppress_tokens` always, `begin_suppress_tokens` on the first generated token;
 * - without timestamps, timestamp tokens are suppressed; with them, Whisper's timestamp rules apply:
 *   timestamps come in pairs, never decrease, the first token is a timestamp no later than
 *   max_initial_timestamp_index, and a timestamp is forced when their total probability beats every
 *   single text token.
 */
export class LogitRules {
  private readonly alwaysSuppressed: Int32Array;
  private readonly beginSuppressed: Int32Array;

  constructor(private readonly config: WhisperModelConfig) {
    const { sot, noTimestamps } = config.tokens;
    const always = new Set(config.suppressTokens);
    for (let id = sot; id <= noTimestamps; id++) always.add(id);
    this.alwaysSuppressed = Int32Array.from([...always].filter((id) => id < config.vocabSize));
    this.beginSuppressed = Int32Array.from(config.beginSuppressTokens.filter((id) => id < config.vocabSize));
  }

  apply(logits: Float64Array, generated: readonly number[], withTimestamps: boolean): void {
    for (const id of this.alwaysSuppressed) logits[id] = -Infinity;
    if (generated.length === 0) for (const id of this.beginSuppressed) logits[id] = -Infinity;
    const { eot, timestampBegin: tb } = this.config.tokens;
    if (!withTimestamps) {
      logits.fill(-Infinity, tb);
      return;
    }
    const last = generated.length >= 1 ? generated[generated.length - 1]! : -1;
    const lastWasTimestamp = last >= tb;
    const penultimateWasTimestamp = generated.length < 2 || generated[generated.length - 2]! >= tb;
    if (lastWasTimestamp) {
      if (penultimateWasTimestamp) logits.fill(-Infinity, tb);
      else logits.fill(-Infinity, 0, eot);
    }
    let lastTimestamp = -1;
    for (let i = generated.length - 1; i >= 0; i--) {
      if (generated[i]! >= tb) {
        lastTimestamp = generated[i]!;
        break;
      }
    }
    if (lastTimestamp >= 0) {
      // Non-decreasing; a segment's end may equal its start only to close the pair just opened.
      const floor = lastWasTimestamp && !penultimateWasTimestamp ? lastTimestamp : lastTimestamp + 1;
      logits.fill(-Infinity, tb, floor);
    }
    if (generated.length === 0) {
      logits.fill(-Infinity, 0, tb);
      const maxInitial = this.config.maxInitialTimestampIndex;
      if (maxInitial !== undefined) logits.fill(-Infinity, tb + maxInitial + 1);
    }
    const norm = logSumExp(logits, 0, logits.length);
    const timestampLogProb = logSumExp(logits, tb, logits.length) - norm;
    let maxText = -Infinity;
    for (let i = 0; i < tb; i++) if (logits[i]! > maxText) maxText = logits[i]!;
    if (timestampLogProb > maxText - norm) logits.fill(-Infinity, 0, tb);
  }
}

/** log(sum(exp(x[from..to)))), -Infinity when every entry is -Infinity. */
export function logSumExp(x: Float64Array, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (x[i]! > max) max = x[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(x[i]! - max);
  return max + Math.log(sum);
}

/** Index of the largest entry (the first one on ties). */
export function argmax(x: Float64Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** Fewest consecutive copies of an n-gram at the tail that count as a decoding loop. */
export function loopRepeatsNeeded(n: number): number {
  return Math.max(3, Math.ceil(12 / n));
}

/**
 * Detects a hallucination loop: the tail of `tokens` being the same n-gram (n <= maxN) repeated at least
 * loopRepeatsNeeded(n) times ("the the the ..." needs 12 copies, a 4-token phrase 3). Returns the length
 * `tokens` should be cut to so that one copy of the n-gram remains, or undefined if there is no loop.
 */
export function findRepetitionLoop(tokens: readonly number[], maxN = 16): number | undefined {
  for (let n = 1; n <= maxN; n++) {
    const needed = loopRepeatsNeeded(n);
    if (tokens.length < n * needed) continue;
    let copies = 1;
    const end = tokens.length;
    while ((copies + 1) * n <= end) {
      let same = true;
      for (let i = 0; i < n && same; i++) same = tokens[end - 1 - i] === tokens[end - 1 - i - copies * n];
      if (!same) break;
      copies++;
    }
    if (copies >= needed) return end - (copies - 1) * n;
  }
  return undefined;
}
