import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWhisperModel, type WhisperModel } from './model.js';
import {
  readModelScript,
  SCRIPTED_FIXTURE_DIR,
  scriptedUtterance,
  type ModelScript,
} from './testing/reference.js';
import { transcribe } from './transcribe.js';

describe('the scripted test model', () => {
  let model: WhisperModel;
  let script: ModelScript;

  beforeAll(async () => {
    model = await loadWhisperModel(SCRIPTED_FIXTURE_DIR);
    script = await readModelScript();
  });
  afterAll(async () => {
    await model.release();
  });

  it('says the script of the speech duration, with and without timestamps, and times its words within the speech', async () => {
    expect(model.wordTiming).toBe(true);
    expect(script.scripts.length).toBeGreaterThanOrEqual(3);
    for (const [i, { text }] of script.scripts.entries()) {
      const speech = (i + 0.5) * script.bucketSeconds;
      const audio = scriptedUtterance(speech);
      const plain = await transcribe(model, audio, { language: 'en' });
      expect(plain.text).toBe(text.trim());
      const timed = await transcribe(model, audio, { language: 'en', withTimestamps: true });
      expect(timed.text).toBe(text.trim());
      expect(timed.segments.map((s) => s.text)).toEqual([text.trim()]);
      expect(timed.words!.map((w) => w.text).join('')).toBe(text);
      const words = timed.words!;
      const duration = audio.length / 16_000;
      words.forEach((w, k) => {
        expect(w.start).toBeLessThanOrEqual(w.end);
        expect(w.end).toBeLessThanOrEqual(duration);
        if (k > 0) expect(w.start).toBeGreaterThanOrEqual(words[k - 1]!.start);
      });
      // Spread over the speech (DTW starts at the audio's start): the first word ends in the first half of the
      // speech, the last one ends in its last 40 %.
      expect(words[0]!.end).toBeLessThan(0.3 + speech / 2);
      expect(words.at(-1)!.end).toBeGreaterThan(0.3 + speech * 0.6);
      expect(words.at(-1)!.end).toBeLessThanOrEqual(0.3 + speech + 0.1);
    }
  });
});
