import { Tokenizer } from '@huggingface/tokenizers';

/** GPT-2's printable stand-in for each byte, inverted: stand-in character -> byte value. */
function unicodeToByte(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const isPrintable = new Set(printable);
  const map = new Map<string, number>();
  for (const b of printable) map.set(String.fromCharCode(b), b);
  let next = 0;
  for (let b = 0; b < 256; b++) if (!isPrintable.has(b)) map.set(String.fromCharCode(256 + next++), b);
  return map;
}

const BYTE_OF = unicodeToByte();

/** The part of tokenizers.js' Tokenizer used here (its bundled .d.ts files do not resolve under NodeNext). */
interface TextEncoding {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The decoding half of a Hugging Face byte-level BPE tokenizer (tokenizer.json): token ids -> text.
 * Added tokens (Whisper's specials and timestamps) are looked up by name and left out of decoded text.
 */
export class WhisperTokenizer {
  private readonly tokenBytes: (Uint8Array | undefined)[];
  private readonly names: (string | undefined)[];
  private readonly added = new Map<number, AddedToken>();
  private readonly idsByName = new Map<string, number>();
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false });
  private encoder: TextEncoding | undefined;

  private constructor(
    vocab: Map<string, number>,
    added: AddedToken[],
    private readonly json: Record<string, unknown>,
  ) {
    const size = Math.max(-1, ...vocab.values(), ...added.map((a) => a.id)) + 1;
    this.tokenBytes = new Array<Uint8Array | undefined>(size);
    this.names = new Array<string | undefined>(size);
    for (const [token, id] of vocab) {
      this.idsByName.set(token, id);
      this.names[id] = token;
      const bytes = new Uint8Array(token.length);
      let length = 0;
      for (const ch of token) {
        const b = BYTE_OF.get(ch);
        if (b === undefined)
          throw new TypeError(`vocab token ${JSON.stringify(token)} is not byte-level BPE`);
        bytes[length++] = b;
      }
      this.tokenBytes[id] = bytes.subarray(0, length);
    }
    for (const a of added) {
      this.added.set(a.id, a);
      this.idsByName.set(a.content, a.id);
      this.names[a.id] = a.content;
    }
  }

  /** Parses tokenizer.json content; throws TypeError describing what is wrong. */
  static fromJson(json: unknown): WhisperTokenizer {
    if (!isRecord(json) || !isRecord(json['model'])) throw new TypeError('missing "model" object');
    const model = json['model'];
    if (model['type'] !== 'BPE')
      throw new TypeError(`model.type must be "BPE", got ${JSON.stringify(model['type'])}`);
    const decoder = json['decoder'];
    if (!isRecord(decoder) || decoder['type'] !== 'ByteLevel')
      throw new TypeError('decoder.type must be "ByteLevel"');
    if (!isRecord(model['vocab'])) throw new TypeError('model.vocab must be an object');
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(model['vocab'])) {
      if (!Number.isInteger(id) || (id as number) < 0)
        throw new TypeError(`model.vocab[${JSON.stringify(token)}] is not a token id`);
      vocab.set(token, id as number);
    }
    const addedRaw = json['added_tokens'] ?? [];
    if (!Array.isArray(addedRaw)) throw new TypeError('added_tokens must be an array');
    const added = addedRaw.map((a: unknown, i): AddedToken => {
      if (!isRecord(a) || !Number.isInteger(a['id']) || typeof a['content'] !== 'string') {
        throw new TypeError(`added_tokens[${i}] needs an integer "id" and a string "content"`);
      }
      return { id: a['id'] as number, content: a['content'], special: a['special'] === true };
    });
    return new WhisperTokenizer(vocab, added, json);
  }

  /** One more than the largest token id. */
  get size(): number {
    return this.tokenBytes.length;
  }

  idOf(name: string): number | undefined {
    return this.idsByName.get(name);
  }

  nameOf(id: number): string | undefined {
    return this.names[id];
  }

  /** True for added tokens: Whisper's special tokens and timestamps. */
  isAdded(id: number): boolean {
    return this.added.has(id);
  }

  /** Text of the ordinary tokens in `ids`; added tokens are skipped, invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    let total = 0;
    for (const id of ids) {
      if (this.added.has(id)) continue;
      const tokenBytes = this.tokenBytes[id];
      if (!tokenBytes) throw new RangeError(`token id ${id} is not in the vocabulary`);
      total += tokenBytes.length;
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const id of ids) {
      const tokenBytes = this.added.has(id) ? undefined : this.tokenBytes[id];
      if (!tokenBytes) continue;
      bytes.set(tokenBytes, offset);
      offset += tokenBytes.length;
    }
    return this.utf8.decode(bytes);
  }

  /**
   * Token ids of ordinary text. Encoding needs the BPE merges and the pre-tokenizer's regex, so it is done by
   * Hugging Face's tokenizers.js over the same tokenizer.json (built on first use: most calls never encode).
   * Throws TypeError when the text spells a special token, which openai-whisper refuses in prompts too.
   */
  encode(text: string): number[] {
    this.encoder ??= new Tokenizer(this.json, {}) as TextEncoding;
    const { ids } = this.encoder.encode(text, { add_special_tokens: false });
    const special = ids.find((id) => this.added.has(id));
    if (special !== undefined)
      throw new TypeError(`the text spells the special token ${this.names[special] ?? special}`);
    return ids;
  }
}
