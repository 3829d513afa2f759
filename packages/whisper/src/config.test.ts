import { describe, expect, it } from 'vitest';
import { ConfigError, parseModelConfig } from './config.js';
import { WhisperTokenizer } from './tokenizer.js';

const names = [
  '<|endoftext|>',
  '<|startoftranscript|>',
  '<|en|>',
  '<|translate|>',
  '<|transcribe|>',
  '<|nocaptions|>',
  '<|notimestamps|>',
];

function tokenizerWith(extra: string[]): WhisperTokenizer {
  const added = [...names, ...extra].map((content, i) => ({ id: i + 1, content, special: true }));
  return WhisperTokenizer.fromJson({
    model: { type: 'BPE', vocab: { a: 0 } },
    decoder: { type: 'ByteLevel' },
    added_tokens: added,
  });
}

const config = {
  model_type: 'whisper',
  num_mel_bins: 80,
  d_model: 8,
  decoder_layers: 1,
  decoder_attention_heads: 2,
  max_target_positions: 16,
};
const generation = {
  eos_token_id: 1,
  decoder_start_token_id: 2,
  no_timestamps_token_id: 7,
  lang_to_id: { '<|en|>': 3 },
};
const preprocessor = { feature_size: 80 };

describe('parseModelConfig', () => {
  it('reads the timestamp step from the timestamp tokens names', () => {
    const parsed = parseModelConfig(
      { ...config, vocab_size: 11 },
      generation,
      preprocessor,
      tokenizerWith(['<|0.00|>', '<|0.50|>', '<|1.00|>']),
    );
    expect(parsed.tokens.timestampBegin).toBe(8);
    expect(parsed.timePrecision).toBe(0.5);
    expect(parsed.timestampCount).toBe(3);
    expect(parsed.maxInitialTimestampIndex).toBe(2); // Whisper's default: 1 s
  });

  it("falls back to Whisper's 1501 steps of 0.02 s when the tokenizer does not name timestamps", () => {
    const parsed = parseModelConfig(
      { ...config, vocab_size: 8 + 1501 },
      generation,
      preprocessor,
      tokenizerWith([]),
    );
    expect(parsed.timePrecision).toBe(0.02);
    expect(parsed.timestampCount).toBe(1501);
    expect(parsed.maxInitialTimestampIndex).toBe(50);
  });

  it('blames tokenizer.json when timestamps can be neither named nor inferred', () => {
    const attempt = (): unknown =>
      parseModelConfig({ ...config, vocab_size: 20 }, generation, preprocessor, tokenizerWith([]));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/timestamp/);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).file).toBe('tokenizer.json');
    }
  });

  it('takes generation fields from config.json when an older export keeps them there', () => {
    const { eos_token_id: _eos, ...generationWithoutEos } = generation;
    const parsed = parseModelConfig(
      { ...config, vocab_size: 11, eos_token_id: 1, suppress_tokens: [0] },
      generationWithoutEos,
      preprocessor,
      tokenizerWith(['<|0.00|>', '<|0.50|>', '<|1.00|>']),
    );
    expect(parsed.tokens.eot).toBe(1);
    expect(parsed.suppressTokens).toEqual([0]);
  });
});
