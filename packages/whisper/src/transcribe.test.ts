import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderSession } from './decoder-session.js';
import { TranscribeInputError } from './errors.js';
import { logMel } from './log-mel.js';
import { loadWhisperModel, type WhisperModel } from './model.js';
import {
  copyFixture,
  FIXTURE_DIR,
  loadReference,
  readReferencePcm,
  referenceAudio,
  type Reference,
  type ReferenceDecode,
} from './testing/reference.js';
import { compressionRatio, tokenBudget, transcribe, type TranscribeOptions } from './transcribe.js';

/** Guards off and the reference's budget: the engine must reproduce PyTorch's greedy tokens exactly. */
function referenceOptions(decode: ReferenceDecode, useKvCache: boolean): TranscribeOptions {
  return {
    ...(decode.language === null ? {} : { language: decode.language }),
    ...(decode.task === null ? {} : { task: decode.task }),
    withTimestamps: decode.withTimestamps,
    maxNewTokens: decode.maxNewTokens,
    useKvCache,
    stopOnRepetition: false,
  };
}

const describeDecode = (d: ReferenceDecode): string =>
  `${d.audio} ${d.language ?? 'english-only'}/${d.task ?? '-'}${d.withTimestamps ? ' +timestamps' : ''}`;

describe('transcribe (fixture model vs PyTorch reference)', () => {
  let ref: Reference;
  let model: WhisperModel;
  const audio = new Map<string, Float32Array>();

  beforeAll(async () => {
    ref = await loadReference();
    model = await loadWhisperModel(FIXTURE_DIR, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    for (const a of ref.audios) audio.set(a.name, await readReferencePcm(a));
  });
  afterAll(async () => {
    await model.release();
  });
  const multilingualDecodes = (): ReferenceDecode[] => ref.decodes.filter((d) => d.language !== null);

  it('runs the encoder like PyTorch (within 1e-4)', async () => {
    for (const a of ref.audios) {
      const features = await model.encode(logMel(audio.get(a.name)!));
      const data = features.data as Float32Array;
      expect(features.dims).toEqual([1, 1500, 64]);
      a.encoder.frame0.forEach((v, i) => expect(Math.abs(data[i]! - v)).toBeLessThan(1e-4));
      a.encoder.frame700.forEach((v, i) => expect(Math.abs(data[700 * 64 + i]! - v)).toBeLessThan(1e-4));
    }
  });

  it('produces the first-step logits PyTorch does (within 1e-3)', async () => {
    const decode = ref.decodes[0]!;
    const features = await model.encode(logMel(audio.get(decode.audio)!));
    const { logits, rows } = await new DecoderSession(model, features, true).step(decode.prompt);
    const last = (rows - 1) * ref.dims.n_vocab;
    decode.firstStepLogits.forEach((v, i) => expect(Math.abs(logits[last + i]! - v)).toBeLessThan(1e-3));
  });

  for (const useKvCache of [true, false]) {
    it(`reproduces the reference greedy tokens exactly ${useKvCache ? 'with' : 'without'} the KV cache`, async () => {
      for (const decode of multilingualDecodes()) {
        const result = await transcribe(
          model,
          audio.get(decode.audio)!,
          referenceOptions(decode, useKvCache),
        );
        const what = describeDecode(decode);
        expect(result.tokens, what).toEqual(useKvCache ? decode.tokensKvCache : decode.tokensNoCache);
        expect(result.stopReason, what).toBe(decode.stopReason);
        expect(result.text, what).toBe(decode.text);
        expect(result.noSpeechProb, what).toBeCloseTo(decode.noSpeechProb, 4);
        expect(result.avgLogProb, what).toBeCloseTo(decode.avgLogProb, 3);
        expect(result.language).toBe(decode.language);
        expect(result.rejected).toBeNull();
      }
    });
  }

  it('leaves loop-free output alone when the repetition guard is on (the default)', async () => {
    for (const decode of multilingualDecodes()) {
      const { stopOnRepetition: _, ...guarded } = referenceOptions(decode, true);
      const result = await transcribe(model, audio.get(decode.audio)!, guarded);
      expect(result.tokens, describeDecode(decode)).toEqual(decode.tokensKvCache);
    }
  });

  it('covers decodes that end with <|endoftext|> and decodes that run out of budget', () => {
    expect(ref.decodes.some((d) => d.stopReason === 'eot' && d.tokensKvCache.length >= 10)).toBe(true);
    expect(ref.decodes.some((d) => d.stopReason === 'max-tokens')).toBe(true);
  });

  it('turns timestamp tokens into ordered segments', async () => {
    const decode = ref.decodes.find((d) => d.withTimestamps)!;
    const result = await transcribe(model, audio.get(decode.audio)!, referenceOptions(decode, true));
    expect(result.tokens).toEqual(decode.tokensKvCache);
    const tb = model.config.tokens.timestampBegin;
    expect(result.tokens[0]).toBeGreaterThanOrEqual(tb); // the first token must be a timestamp
    expect(result.tokens[0]! - tb).toBeLessThanOrEqual(model.config.maxInitialTimestampIndex!);
    expect(result.segments.length).toBeGreaterThan(0);
    let previousEnd = 0;
    for (const segment of result.segments) {
      expect(segment.start).toBeGreaterThanOrEqual(previousEnd);
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      expect(segment.tokens.every((t) => t < tb)).toBe(true);
      previousEnd = segment.end;
    }
    const segmentTokens = result.segments.flatMap((s) => s.tokens);
    expect(segmentTokens).toEqual(result.tokens.filter((t) => t < tb));
  });

  it('detects the language when none is given, as the reference does', async () => {
    for (const a of ref.audios) {
      const result = await transcribe(model, audio.get(a.name)!, { maxNewTokens: 1 });
      expect(result.language, a.name).toBe(a.detectedLanguage);
    }
  });

  it('applies suppress_tokens and begin_suppress_tokens from generation_config.json', async () => {
    const decode = ref.decodes.find((d) => d.audio === 'chirp-3s' && !d.withTimestamps)!;
    const [first, ...rest] = decode.tokensKvCache;
    const later = rest.find((t) => t !== first)!;
    const copy = await copyFixture();
    try {
      await copy.editJson('generation_config.json', (g) => {
        g['begin_suppress_tokens'] = [...(g['begin_suppress_tokens'] as number[]), first];
        g['suppress_tokens'] = [...(g['suppress_tokens'] as number[]), later];
      });
      const edited = await loadWhisperModel(copy.dir);
      try {
        const result = await transcribe(edited, audio.get(decode.audio)!, referenceOptions(decode, true));
        expect(result.tokens[0]).not.toBe(first);
        expect(result.tokens).not.toContain(later);
        // Control tokens and (without timestamps) timestamp tokens are never generated either.
        expect(result.tokens.every((t) => t < edited.config.tokens.eot)).toBe(true);
      } finally {
        await edited.release();
      }
    } finally {
      await copy.remove();
    }
  });

  it('ties the token budget to the audio length', async () => {
    const silence = ref.decodes.find((d) => d.audio === 'silence-2s' && d.language === 'en')!;
    expect(silence.stopReason).toBe('eot');
    const options: TranscribeOptions = { language: 'en', stopOnRepetition: false };
    // Silence of any length has the same log-mel, so only the budget differs.
    const oneSecond = await transcribe(model, new Float32Array(16_000), options);
    expect(oneSecond.tokenBudget).toBe(tokenBudget(model, 16_000, silence.prompt.length));
    expect(oneSecond.tokenBudget).toBeLessThan(silence.tokensKvCache.length);
    expect(oneSecond.stopReason).toBe('max-tokens');
    expect(oneSecond.tokens).toEqual(silence.tokensKvCache.slice(0, oneSecond.tokenBudget));

    const twoSeconds = await transcribe(model, audio.get('silence-2s')!, options);
    expect(twoSeconds.tokenBudget).toBeGreaterThan(silence.tokensKvCache.length);
    expect(twoSeconds.stopReason).toBe('eot');
    expect(twoSeconds.tokens).toEqual(silence.tokensKvCache);

    const capped = await transcribe(model, audio.get('silence-2s')!, { ...options, maxNewTokens: 3 });
    expect(capped.tokens).toEqual(silence.tokensKvCache.slice(0, 3));
  });

  it('caps the budget at half the text context', () => {
    expect(tokenBudget(model, 30 * 16_000, 4)).toBe(model.config.maxTargetPositions / 2);
  });

  it('rejects likely silence: high no-speech probability together with a low average log-probability', async () => {
    const decode = ref.decodes.find((d) => d.audio === 'vowel-5s' && d.language === 'en')!;
    const base = referenceOptions(decode, true);
    const silent = await transcribe(model, audio.get(decode.audio)!, {
      ...base,
      noSpeechThreshold: decode.noSpeechProb - 0.05,
      logProbThreshold: 0,
    });
    expect(silent.rejected).toBe('no-speech');
    expect(silent.text).toBe('');
    expect(silent.tokens).toEqual(decode.tokensKvCache);
    const confident = await transcribe(model, audio.get(decode.audio)!, {
      ...base,
      noSpeechThreshold: decode.noSpeechProb - 0.05,
      logProbThreshold: decode.avgLogProb - 0.05,
    });
    expect(confident.rejected).toBeNull();
    const speech = await transcribe(model, audio.get(decode.audio)!, {
      ...base,
      noSpeechThreshold: decode.noSpeechProb + 0.05,
      logProbThreshold: 0,
    });
    expect(speech.rejected).toBeNull();
    expect(speech.text).toBe(decode.text);
  });

  it('measures repetitiveness as Whisper does: UTF-8 bytes over deflated bytes', () => {
    expect(compressionRatio('')).toBe(0);
    expect(compressionRatio('Thank you for calling, how can I help you today?')).toBeLessThan(2.4);
    expect(compressionRatio('Thank you. '.repeat(20))).toBeGreaterThan(2.4);
  });

  it('rejects text that compresses too well (repetitive output)', async () => {
    const decode = ref.decodes.find((d) => d.audio === 'chirp-3s' && !d.withTimestamps)!;
    const base = referenceOptions(decode, true);
    const ratio = compressionRatio(decode.text);
    const strict = await transcribe(model, audio.get(decode.audio)!, {
      ...base,
      compressionRatioThreshold: ratio - 0.01,
    });
    expect(strict.compressionRatio).toBe(ratio);
    expect(strict.rejected).toBe('compression-ratio');
    expect(strict.text).toBe('');
    const lenient = await transcribe(model, audio.get(decode.audio)!, {
      ...base,
      compressionRatioThreshold: ratio + 0.01,
    });
    expect(lenient.rejected).toBeNull();
  });

  it('serialises concurrent calls on one model without mixing their buffers', async () => {
    const decodes = multilingualDecodes().filter((d) => !d.withTimestamps);
    const results = await Promise.all(
      decodes.map((d) => transcribe(model, audio.get(d.audio)!, referenceOptions(d, true))),
    );
    results.forEach((result, i) => expect(result.tokens).toEqual(decodes[i]!.tokensKvCache));
  });

  it('refuses audio longer than 30 s and languages the model does not know', async () => {
    await expect(transcribe(model, new Float32Array(31 * 16_000))).rejects.toBeInstanceOf(
      TranscribeInputError,
    );
    await expect(transcribe(model, new Float32Array(16_000), { language: 'xx' })).rejects.toBeInstanceOf(
      TranscribeInputError,
    );
  });

  describe('as an English-only model', () => {
    let english: WhisperModel;
    let remove: () => Promise<void>;
    beforeAll(async () => {
      const copy = await copyFixture();
      remove = copy.remove;
      await copy.editJson('generation_config.json', (g) => {
        g['is_multilingual'] = false;
        delete g['lang_to_id'];
        delete g['task_to_id'];
      });
      english = await loadWhisperModel(copy.dir);
    });
    afterAll(async () => {
      await english.release();
      await remove();
    });

    it('prompts with <|startoftranscript|><|notimestamps|> only and matches the reference', async () => {
      const decode = ref.decodes.find((d) => d.language === null)!;
      expect(decode.prompt).toEqual([english.config.tokens.sot, english.config.tokens.noTimestamps]);
      for (const useKvCache of [true, false]) {
        const result = await transcribe(
          english,
          audio.get(decode.audio)!,
          referenceOptions(decode, useKvCache),
        );
        expect(result.tokens).toEqual(decode.tokensKvCache);
        expect(result.language).toBeNull();
      }
    });

    it('refuses other languages and translation', async () => {
      const clip = audio.get('chirp-3s')!;
      await expect(transcribe(english, clip, { language: 'de' })).rejects.toBeInstanceOf(
        TranscribeInputError,
      );
      await expect(transcribe(english, clip, { task: 'translate' })).rejects.toBeInstanceOf(
        TranscribeInputError,
      );
    });
  });
});

describe('transcribe with the quantized model', () => {
  it('loads, runs, and stays close to the fp32 model', async () => {
    const ref = await loadReference();
    const a = referenceAudio(ref, 'vowel-5s');
    const samples = await readReferencePcm(a);
    const [fp32, int8] = await Promise.all([
      loadWhisperModel(FIXTURE_DIR),
      loadWhisperModel(FIXTURE_DIR, { quantized: true }),
    ]);
    try {
      const mel = logMel(samples);
      const decode = ref.decodes.find((d) => d.audio === a.name && d.language === 'en')!;
      const logitsOf = async (model: WhisperModel): Promise<Float32Array> => {
        const { logits, rows } = await new DecoderSession(model, await model.encode(mel), true).step(
          decode.prompt,
        );
        return logits.slice((rows - 1) * ref.dims.n_vocab, rows * ref.dims.n_vocab);
      };
      const [x, y] = await Promise.all([logitsOf(fp32), logitsOf(int8)]);
      expect(pearson(x, y)).toBeGreaterThan(0.95);

      const result = await transcribe(int8, samples, { language: 'en', maxNewTokens: 12 });
      expect(result.tokens.length).toBeGreaterThan(0);
      expect(result.tokens.every((t) => Number.isInteger(t) && t >= 0 && t < ref.dims.n_vocab)).toBe(true);
      expect(Number.isFinite(result.avgLogProb)).toBe(true);
      expect(result.noSpeechProb).toBeGreaterThan(0);
    } finally {
      await Promise.all([fp32.release(), int8.release()]);
    }
  });
});

function pearson(x: Float32Array, y: Float32Array): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]! / n;
    my += y[i]! / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
