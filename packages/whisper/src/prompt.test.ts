import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderSession } from './decoder-session.js';
import { TranscribeInputError } from './errors.js';
import { logMel } from './log-mel.js';
import { logSumExp } from './rules.js';
import { loadWhisperModel, type WhisperModel } from './model.js';
import {
  FIXTURE_DIR,
  loadReference,
  readModelScript,
  readReferencePcm,
  SCRIPTED_FIXTURE_DIR,
  TIMESTAMPED_FIXTURE_DIR,
} from './testing/reference.js';
import { buildPrompt, encodePrevious, maxPreviousTokens, transcribe } from './transcribe.js';

/** Whisper's previous-text prompt: <|startofprev|> + the text's tokens ahead of <|startoftranscript|>. */
describe('previous-text prompt', () => {
  let model: WhisperModel;
  let timestamped: WhisperModel;
  let vowel: Float32Array;

  beforeAll(async () => {
    model = await loadWhisperModel(FIXTURE_DIR);
    timestamped = await loadWhisperModel(TIMESTAMPED_FIXTURE_DIR);
    const ref = await loadReference();
    vowel = await readReferencePcm(ref.audios.find((a) => a.name !== 'silence') ?? ref.audios[0]!);
  });
  afterAll(async () => {
    await Promise.all([model?.release(), timestamped?.release()]);
  });

  it('encodes text as the generator’s Python tokenizer does (" " + the trimmed text)', async () => {
    // script.json's tokens were made by tools/whisper-model-gen's own BPE, independent of tokenizers.js.
    const script = await readModelScript();
    const scripted = await loadWhisperModel(SCRIPTED_FIXTURE_DIR);
    try {
      for (const { text, tokens } of script.scripts) {
        expect(encodePrevious(scripted, `  ${text.trim()}\n`)).toEqual(tokens);
        expect(scripted.tokenizer.decode(encodePrevious(scripted, text))).toBe(` ${text.trim()}`);
      }
    } finally {
      await scripted.release();
    }
    expect(encodePrevious(model, '   ')).toEqual([]);
  });

  it('refuses text that spells a special token', () => {
    for (const text of ['say <|de|> now', 'stop <|endoftext|>', 'at <|0.00|>'])
      expect(() => encodePrevious(model, text)).toThrow(TranscribeInputError);
  });

  it('puts <|startofprev|> and the latest n_text_ctx / 2 - 1 tokens before the transcript prompt', () => {
    const { tokens, languages } = model.config;
    const de = languages.get('de')!;
    expect(model.config.maxTargetPositions).toBe(64);
    expect(maxPreviousTokens(model)).toBe(31);
    expect(buildPrompt(model, 'de', 'transcribe', false, [300, 267])).toEqual([
      tokens.startOfPrev,
      300,
      267,
      tokens.sot,
      de,
      tokens.transcribe,
      tokens.noTimestamps,
    ]);
    const long = Array.from({ length: 100 }, (_, i) => 256 + (i % 50));
    const prompt = buildPrompt(model, 'de', 'transcribe', true, long);
    expect(prompt).toEqual([tokens.startOfPrev, ...long.slice(-31), tokens.sot, de, tokens.transcribe]);
    expect(buildPrompt(model, 'de', 'transcribe', true, [])).toEqual([tokens.sot, de, tokens.transcribe]);
  });

  it('decodes after the prompt, reading the no-speech probability at <|startoftranscript|>', async () => {
    const previous = encodePrevious(model, 'the agent will call you back.');
    const options = { language: 'de', previous, stopOnRepetition: false, maxNewTokens: 12 };
    const cached = await transcribe(model, vowel, options);
    const recomputed = await transcribe(model, vowel, { ...options, useKvCache: false });
    const sot = model.config.tokens.sot;
    expect(cached.prompt).toEqual([
      model.config.tokens.startOfPrev,
      ...previous,
      sot,
      model.config.languages.get('de'),
      model.config.tokens.transcribe,
      model.config.tokens.noTimestamps,
    ]);
    expect(cached.tokens).toEqual(recomputed.tokens);
    expect(cached.language).toBe('de');

    // The no-speech probability of the <|startoftranscript|> row, computed here without the engine's loop.
    const features = await model.encode(logMel(vowel));
    const { logits } = await new DecoderSession(model, features, false).step(cached.prompt);
    const vocab = model.config.vocabSize;
    const sotRow = previous.length + 1;
    const row = Float64Array.from(logits.subarray(sotRow * vocab, (sotRow + 1) * vocab));
    const expected = Math.exp(row[model.config.tokens.noSpeech]! - logSumExp(row, 0, vocab));
    expect(cached.noSpeechProb).toBeCloseTo(expected, 6);
    const unprompted = await transcribe(model, vowel, { language: 'de', maxNewTokens: 12 });
    expect(unprompted.prompt[0]).toBe(sot);
    expect(cached.noSpeechProb).not.toBeCloseTo(unprompted.noSpeechProb, 6);
  });

  it('times words from <|startoftranscript|> on, leaving the previous text out of the alignment', async () => {
    const previous = encodePrevious(timestamped, 'the cat sat on the mat');
    const result = await transcribe(timestamped, vowel, { language: 'en', previous, withTimestamps: true });
    expect(result.words).toBeDefined();
    expect(
      result
        .words!.map((w) => w.text)
        .join('')
        .trim(),
    ).toBe(result.text);
  });
});
