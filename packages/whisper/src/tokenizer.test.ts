import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR, loadReference } from './testing/reference.js';
import { WhisperTokenizer } from './tokenizer.js';

describe('WhisperTokenizer', () => {
  let tokenizer: WhisperTokenizer;
  beforeAll(async () => {
    tokenizer = WhisperTokenizer.fromJson(
      JSON.parse(await readFile(join(FIXTURE_DIR, 'tokenizer.json'), 'utf8')),
    );
  });

  it('looks special tokens up by name', () => {
    const eot = tokenizer.idOf('<|endoftext|>')!;
    expect(tokenizer.idOf('<|startoftranscript|>')).toBe(eot + 1);
    expect(tokenizer.idOf('<|en|>')).toBe(eot + 2);
    expect(tokenizer.nameOf(tokenizer.idOf('<|notimestamps|>')! + 1)).toBe('<|0.00|>');
    expect(tokenizer.idOf('<|no-such-token|>')).toBeUndefined();
  });

  it('decodes byte-level tokens, with spaces and multi-byte characters split across tokens', () => {
    const pieces = ['H', 'e', 'l', 'l', 'o', 'Ġthank', 'Ġyou', 'Ġ', 'c', 'a', 'f', 'Ã', '©', '!'];
    const ids = pieces.map((t) => tokenizer.idOf(t)!);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(tokenizer.decode(ids)).toBe('Hello thank you café!');
  });

  it('leaves special and timestamp tokens out of the text', () => {
    const ids = ['<|startoftranscript|>', '<|0.00|>', 'Ġthank', '<|endoftext|>'].map((t) =>
      tokenizer.idOf(t)!,
    );
    expect(tokenizer.decode(ids)).toBe(' thank');
  });

  it('decodes the reference outputs exactly as the Python reference did (invalid UTF-8 -> U+FFFD)', async () => {
    const ref = await loadReference();
    for (const decode of ref.decodes) expect(tokenizer.decode(decode.tokensKvCache).trim()).toBe(decode.text);
    expect(ref.decodes.some((d) => d.text.includes('\uFFFD'))).toBe(true);
  });

  it('rejects ids outside the vocabulary and tokenizers that are not byte-level BPE', () => {
    expect(() => tokenizer.decode([10_000_000])).toThrow(RangeError);
    expect(() =>
      WhisperTokenizer.fromJson({ model: { type: 'WordPiece', vocab: {} }, decoder: { type: 'ByteLevel' } }),
    ).toThrow(/BPE/);
    expect(() =>
      WhisperTokenizer.fromJson({ model: { type: 'BPE', vocab: { a: 0 } }, decoder: { type: 'Metaspace' } }),
    ).toThrow(/ByteLevel/);
  });
});
