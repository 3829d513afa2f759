import type ort from 'onnxruntime-node';
import { DecoderSession } from './decoder-session.js';
import { HOP_LENGTH, N_FRAMES } from './log-mel.js';
import type { WhisperModel } from './model.js';
import type { WhisperTokenizer } from './tokenizer.js';

export interface WhisperWord {
  /** The word as decoded, with its leading space and any merged punctuation. */
  text: string;
  /** Seconds from the start of the audio, to 0.01 s (encoder frames are 0.02 s). */
  start: number;
  end: number;
  /** Mean probability of the word's tokens in the alignment pass. */
  probability: number;
}

/** Encoder frames per second: 16 kHz / hop 160 / the encoder's stride of 2. */
const FRAMES_PER_SECOND = 50;
const PREPEND_PUNCTUATIONS = '"\'“¿([{-';
const APPEND_PUNCTUATIONS = '"\'.。,，!！?？:：”)]}、';
const SENTENCE_END_MARKS = '.。!！?？';
/** Python's string.punctuation. */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
/** Languages written without spaces between words: split on characters. */
const CHARACTER_SPLIT_LANGUAGES = new Set(['zh', 'ja', 'th', 'lo', 'my', 'yue']);
const REPLACEMENT = '\ufffd';

/**
 * Word timing from the alignment heads' cross-attention with dynamic time warping, as openai-whisper's
 * `timing.py` does it (`find_alignment`, then `add_word_timestamps` for one window):
 * 1. one decoder pass without the cache over <|startoftranscript|> [<|lang|> <|task|>] <|notimestamps|>, the text
 *    tokens and <|endoftext|>: token probabilities and each alignment head's weights, cut to the audio's encoder
 *    frames and renormalised over them (what openai-whisper's softmax over the cut scores gives);
 * 2. per head, each frame normalised over the tokens (mean 0, std 1; 0 where the std is 0), a median filter along the frames
 *    (width `median_filter_width`, 7), the mean over the heads, the rows from <|notimestamps|> to the last text token;
 * 3. DTW over the negated matrix; a token starts at the first frame of its run;
 * 4. tokens to words (split on characters, then on spaces unless the language is written without them),
 *    sentence-end words cut to twice the median word length (at most 1.4 s), punctuation merged into its word.
 * Runs inside the caller's `model.exclusive`.
 */
export async function alignWords(
  model: WhisperModel,
  audioFeatures: ort.Tensor,
  sotSequence: readonly number[],
  textTokens: readonly number[],
  samples: number,
  language: string | null,
): Promise<WhisperWord[]> {
  const { eot, noTimestamps } = model.config.tokens;
  const frames = Math.min(N_FRAMES, Math.floor(samples / HOP_LENGTH)) >> 1;
  if (textTokens.length === 0 || frames < 1) return [];
  const tokens = [...sotSequence, noTimestamps, ...textTokens, eot];
  const heads = model.config.alignmentHeads;
  const layers = [...new Set(heads.map(([layer]) => layer))];
  const session = new DecoderSession(model, audioFeatures, false);
  const { logits, attentions } = await session.attend(tokens, layers);

  const first = sotSequence.length; // the <|notimestamps|> row, which predicts the first text token
  const probabilities = tokenProbabilities(logits, model.config.vocabSize, eot, first, textTokens);
  const matrix = alignmentMatrix(model, attentions, tokens.length, frames, first, textTokens.length + 1);
  const jumps = dtwJumps(matrix, textTokens.length + 1, frames);

  const words = splitToWords(model.tokenizer, [...textTokens, eot], eot, language);
  if (words.length <= 1) return [];
  const timings: Timing[] = [];
  let boundary = 0;
  for (const word of words.slice(0, -1)) {
    const next = boundary + word.tokens.length;
    let sum = 0;
    for (let i = boundary; i < next; i++) sum += probabilities[i]!;
    timings.push({
      text: word.text,
      tokens: word.tokens,
      start: jumps[boundary]! / FRAMES_PER_SECOND,
      end: jumps[next]! / FRAMES_PER_SECOND,
      probability: sum / word.tokens.length,
    });
    boundary = next;
  }
  truncateAtSentenceEnds(timings);
  mergePunctuations(timings);
  return timings
    .filter((t) => t.text !== '')
    .map((t) => ({
      text: t.text,
      start: round2(t.start),
      end: round2(t.end),
      probability: t.probability,
    }));
}

interface Timing {
  text: string;
  tokens: number[];
  start: number;
  end: number;
  probability: number;
}

const round2 = (seconds: number): number => Math.round(seconds * 100) / 100;

/** Softmax over the ordinary tokens (ids below <|endoftext|>) at each text token's position. */
function tokenProbabilities(
  logits: Float32Array,
  vocab: number,
  eot: number,
  firstRow: number,
  textTokens: readonly number[],
): number[] {
  return textTokens.map((token, i) => {
    const row = (firstRow + i) * vocab;
    let max = -Infinity;
    for (let v = 0; v < eot; v++) max = Math.max(max, logits[row + v]!);
    let sum = 0;
    for (let v = 0; v < eot; v++) sum += Math.exp(logits[row + v]! - max);
    return Math.exp(logits[row + token]! - max) / sum;
  });
}

/**
 * [rows, frames] (row-major): the alignment heads' weights, renormalised over the audio's frames, normalised per
 * frame over all tokens, median-filtered, averaged over the heads; rows `firstRow` .. `firstRow + rows - 1`.
 * Float32 throughout, as the PyTorch original computes it.
 */
function alignmentMatrix(
  model: WhisperModel,
  attentions: Map<number, Float32Array>,
  tokens: number,
  frames: number,
  firstRow: number,
  rows: number,
): Float32Array {
  const { alignmentHeads, medianFilterWidth } = model.config;
  const total = N_FRAMES / 2;
  const matrix = new Float32Array(rows * frames);
  const weights = new Float32Array(tokens * frames);
  const filtered = new Float32Array(frames);
  const window = new Float32Array(medianFilterWidth);
  for (const [layer, head] of alignmentHeads) {
    const data = attentions.get(layer)!;
    for (let t = 0; t < tokens; t++) {
      const from = (head * tokens + t) * total;
      let sum = 0;
      for (let f = 0; f < frames; f++) sum += data[from + f]!;
      for (let f = 0; f < frames; f++) weights[t * frames + f] = data[from + f]! / sum;
    }
    for (let f = 0; f < frames; f++) {
      let mean = 0;
      for (let t = 0; t < tokens; t++) mean += weights[t * frames + f]!;
      mean /= tokens;
      let variance = 0;
      for (let t = 0; t < tokens; t++) variance += (weights[t * frames + f]! - mean) ** 2;
      const std = Math.sqrt(variance / tokens);
      // A frame every token attends to equally carries no timing: 0 rather than openai-whisper's NaN.
      for (let t = 0; t < tokens; t++)
        weights[t * frames + f] = std > 0 ? (weights[t * frames + f]! - mean) / std : 0;
    }
    for (let r = 0; r < rows; r++) {
      const row = weights.subarray((firstRow + r) * frames, (firstRow + r + 1) * frames);
      medianFilter(row, medianFilterWidth, filtered, window);
      for (let f = 0; f < frames; f++) matrix[r * frames + f] = matrix[r * frames + f]! + filtered[f]!;
    }
  }
  for (let i = 0; i < matrix.length; i++) matrix[i] = matrix[i]! / alignmentHeads.length;
  return matrix;
}

/** Median of each `width` window with reflect padding (a row no longer than width / 2 is copied unfiltered). */
function medianFilter(row: Float32Array, width: number, out: Float32Array, window: Float32Array): void {
  const pad = width >> 1;
  const n = row.length;
  if (n <= pad) {
    out.set(row);
    return;
  }
  for (let f = 0; f < n; f++) {
    for (let k = 0; k < width; k++) {
      let i = f + k - pad;
      if (i < 0) i = -i;
      else if (i >= n) i = 2 * (n - 1) - i;
      window[k] = row[i]!;
    }
    window.sort();
    out[f] = window[pad]!;
  }
}

/**
 * Dynamic time warping over -matrix ([rows, frames]) with openai-whisper's float32 costs and tie-breaking;
 * returns each row's first frame on the path.
 */
function dtwJumps(matrix: Float32Array, rows: number, frames: number): Int32Array {
  const width = frames + 1;
  const cost = new Float32Array((rows + 1) * width).fill(Infinity);
  const trace = new Int8Array((rows + 1) * width).fill(-1);
  cost[0] = 0;
  for (let j = 1; j <= frames; j++) {
    for (let i = 1; i <= rows; i++) {
      const c0 = cost[(i - 1) * width + j - 1]!;
      const c1 = cost[(i - 1) * width + j]!;
      const c2 = cost[i * width + j - 1]!;
      let c: number;
      let t: number;
      if (c0 < c1 && c0 < c2) [c, t] = [c0, 0];
      else if (c1 < c0 && c1 < c2) [c, t] = [c1, 1];
      else [c, t] = [c2, 2];
      cost[i * width + j] = -matrix[(i - 1) * frames + j - 1]! + c;
      trace[i * width + j] = t;
    }
  }
  for (let j = 0; j <= frames; j++) trace[j] = 2;
  for (let i = 0; i <= rows; i++) trace[i * width] = 1;
  // Walk back from the corner; the last frame seen for a row is where its run starts.
  const jumps = new Int32Array(rows);
  let i = rows;
  let j = frames;
  while (i > 0 || j > 0) {
    if (i > 0) jumps[i - 1] = j - 1;
    const t = trace[i * width + j];
    if (t === 0) {
      i--;
      j--;
    } else if (t === 1) i--;
    else j--;
  }
  return jumps;
}

interface WordTokens {
  text: string;
  tokens: number[];
}

/** openai-whisper's split_tokens_on_unicode, then split_tokens_on_spaces unless the language has no spaces. */
function splitToWords(
  tokenizer: WhisperTokenizer,
  tokens: readonly number[],
  eot: number,
  language: string | null,
): WordTokens[] {
  // Python indexes strings by code point: so do these arrays.
  const full = Array.from(tokenizer.decode(tokens));
  const pieces: WordTokens[] = [];
  let current: number[] = [];
  let offset = 0;
  for (const token of tokens) {
    current.push(token);
    const decoded = Array.from(tokenizer.decode(current));
    const bad = decoded.indexOf(REPLACEMENT);
    if (bad < 0 || full[offset + bad] === REPLACEMENT) {
      pieces.push({ text: decoded.join(''), tokens: current });
      current = [];
      offset += decoded.length;
    }
  }
  if (language !== null && CHARACTER_SPLIT_LANGUAGES.has(language)) return pieces;
  const words: WordTokens[] = [];
  for (const piece of pieces) {
    const special = piece.tokens[0]! >= eot;
    const withSpace = piece.text.startsWith(' ');
    const punctuation = PUNCTUATION.includes(piece.text.trim());
    if (special || withSpace || punctuation || words.length === 0)
      words.push({ text: piece.text, tokens: [...piece.tokens] });
    else {
      const last = words[words.length - 1]!;
      last.text += piece.text;
      last.tokens.push(...piece.tokens);
    }
  }
  return words;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Words at sentence ends longer than twice the median word duration (at most 0.7 s) are cut. */
function truncateAtSentenceEnds(words: Timing[]): void {
  const durations = words.map((w) => w.end - w.start).filter((d) => d !== 0);
  if (durations.length === 0) return;
  const maxDuration = Math.min(0.7, median(durations)) * 2;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word.end - word.start <= maxDuration) continue;
    // Python's `in` on strings: a substring test (the empty word included).
    if (SENTENCE_END_MARKS.includes(word.text)) word.end = word.start + maxDuration;
    else if (SENTENCE_END_MARKS.includes(words[i - 1]!.text)) word.start = word.end - maxDuration;
  }
}

/** Opening punctuation joins the word after it, closing punctuation the word before it. */
function mergePunctuations(words: Timing[]): void {
  let i = words.length - 2;
  let j = words.length - 1;
  while (i >= 0) {
    const previous = words[i]!;
    const following = words[j]!;
    if (previous.text.startsWith(' ') && PREPEND_PUNCTUATIONS.includes(previous.text.trim())) {
      following.text = previous.text + following.text;
      following.tokens = [...previous.tokens, ...following.tokens];
      previous.text = '';
      previous.tokens = [];
    } else j = i;
    i--;
  }
  i = 0;
  j = 1;
  while (j < words.length) {
    const previous = words[i]!;
    const following = words[j]!;
    if (!previous.text.endsWith(' ') && APPEND_PUNCTUATIONS.includes(following.text)) {
      previous.text += following.text;
      previous.tokens = [...previous.tokens, ...following.tokens];
      following.text = '';
      following.tokens = [];
    } else i = j;
    j++;
  }
}
