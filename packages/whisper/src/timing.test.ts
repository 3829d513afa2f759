import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logMel } from './log-mel.js';
import { loadWhisperModel, type WhisperModel } from './model.js';
import {
  FIXTURE_DIR,
  loadReference,
  readReferencePcm,
  TIMESTAMPED_FIXTURE_DIR,
  type Reference,
  type ReferenceWord,
} from './testing/reference.js';
import { alignWords, type WhisperWord } from './timing.js';
import { transcribe } from './transcribe.js';

/** The bar: every word's start and end within 20 ms (one encoder frame) of the PyTorch reference. */
const TOLERANCE_S = 0.02;

function expectSameWords(
  actual: WhisperWord[] | undefined,
  expected: ReferenceWord[],
  label: string,
): number {
  expect(actual, label).toBeDefined();
  expect(
    actual!.map((w) => w.text),
    label,
  ).toEqual(expected.map((w) => w.text));
  let exact = 0;
  actual!.forEach((word, i) => {
    const ref = expected[i]!;
    expect(
      Math.abs(word.start - ref.start),
      `${label}: start of ${JSON.stringify(ref.text)}`,
    ).toBeLessThanOrEqual(TOLERANCE_S + 1e-9);
    expect(Math.abs(word.end - ref.end), `${label}: end of ${JSON.stringify(ref.text)}`).toBeLessThanOrEqual(
      TOLERANCE_S + 1e-9,
    );
    expect(word.probability, label).toBeCloseTo(ref.probability, 3);
    if (word.start === ref.start && word.end === ref.end) exact++;
  });
  return exact;
}

describe('word timing (timestamped fixture vs openai-whisper timing.py in PyTorch)', () => {
  let ref: Reference;
  let model: WhisperModel;
  const audio = new Map<string, Float32Array>();

  beforeAll(async () => {
    ref = await loadReference(TIMESTAMPED_FIXTURE_DIR);
    model = await loadWhisperModel(TIMESTAMPED_FIXTURE_DIR);
    for (const a of ref.audios) audio.set(a.name, await readReferencePcm(a));
  });
  afterAll(async () => {
    await model.release();
  });

  it('knows the model can time words: cross_attentions outputs and alignment heads', () => {
    expect(model.wordTiming).toBe(true);
    expect(model.config.alignmentHeads).toEqual([
      [1, 0],
      [1, 1],
    ]);
  });

  it('times the words of every decode as the reference does, each start and end to the frame', async () => {
    let words = 0;
    let exact = 0;
    // The multilingual model's decodes (its English-only-style prompt is not one transcribe() builds).
    for (const decode of ref.decodes.filter((d) => d.language !== null && d.task !== null)) {
      const result = await transcribe(model, audio.get(decode.audio)!, {
        language: decode.language!,
        task: decode.task!,
        withTimestamps: decode.withTimestamps,
        maxNewTokens: decode.maxNewTokens,
        stopOnRepetition: false,
        noSpeechThreshold: 1,
        compressionRatioThreshold: Infinity,
      });
      expect(result.tokens).toEqual(decode.tokensKvCache);
      exact += expectSameWords(result.words, decode.words!, `${decode.audio} ${decode.language}`);
      words += decode.words!.length;
    }
    expect(words).toBeGreaterThanOrEqual(10);
    expect(exact).toBe(words);
  });

  it('aligns given text (punctuation merged, Japanese split on characters) as the reference does', async () => {
    expect(ref.alignments!.length).toBeGreaterThanOrEqual(3);
    for (const alignment of ref.alignments!) {
      const samples = audio.get(alignment.audio)!;
      const sot = [
        model.config.tokens.sot,
        model.config.languages.get(alignment.language)!,
        model.config.tokens.transcribe,
      ];
      const words = await model.exclusive(async () =>
        alignWords(
          model,
          await model.encode(logMel(samples)),
          sot,
          alignment.tokens,
          samples.length,
          alignment.language,
        ),
      );
      const exact = expectSameWords(words, alignment.words, alignment.text);
      expect(exact).toBe(alignment.words.length);
    }
    const english = ref.alignments![0]!;
    expect(english.words.map((w) => w.text)).toContain(' "Well,"');
  });

  it('leaves words out for a model without cross-attention outputs, and when asked to', async () => {
    const plain = await loadWhisperModel(FIXTURE_DIR);
    try {
      expect(plain.wordTiming).toBe(false);
      const result = await transcribe(plain, audio.get('vowel-5s')!, { language: 'en' });
      expect(result).not.toHaveProperty('words');
      expect(result.timing.wordsMs).toBe(0);
    } finally {
      await plain.release();
    }
    const off = await transcribe(model, audio.get('vowel-5s')!, { language: 'en', wordTimestamps: false });
    expect(off).not.toHaveProperty('words');
  });

  it('says where its time went: log-mel, encoder, decoder and the word-timing pass, each measured', async () => {
    const { timing } = await transcribe(model, audio.get('vowel-5s')!, { language: 'en' });
    expect(Object.keys(timing).sort()).toEqual(['decoderMs', 'encoderMs', 'logMelMs', 'wordsMs']);
    for (const ms of Object.values(timing)) expect(ms).toBeGreaterThan(0);
  });
});
