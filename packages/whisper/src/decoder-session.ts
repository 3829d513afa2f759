import ort from 'onnxruntime-node';
import { crossAttentionName, type WhisperModel } from './model.js';

/**
 * One utterance's decoder state over decoder_model_merged.onnx.
 *
 * With the KV cache: the first call runs the no-past branch (`use_cache_branch` false) on the whole
 * prompt; it returns self-attention K/V (`present.*.decoder.*`) and the cross-attention K/V computed from
 * the audio (`present.*.encoder.*`). Later calls run the with-past branch on the new tokens only, feeding
 * present -> past; the encoder K/V from the first call are passed on unchanged (the with-past branch
 * returns empty placeholders for them).
 * Without the cache: every call recomputes the whole sequence through the no-past branch.
 */
export class DecoderSession {
  private readonly pastNames: string[] = [];
  private readonly feeds: Record<string, ort.Tensor> = {};
  private readonly noCache: ort.Tensor;
  private readonly withCache: ort.Tensor;
  private readonly emptyPast: ort.Tensor;
  /** Cached steps feed one token: one reused tensor instead of a new one per step. */
  private readonly nextToken = new BigInt64Array(1);
  private readonly nextTokenTensor = new ort.Tensor('int64', this.nextToken, [1, 1]);
  private cachedTokens = 0;
  private started = false;

  constructor(
    private readonly model: WhisperModel,
    audioFeatures: ort.Tensor,
    readonly useKvCache: boolean,
  ) {
    const { decoderLayers, decoderHeads, dModel } = model.config;
    for (let i = 0; i < decoderLayers; i++) {
      for (const part of ['decoder', 'encoder'])
        for (const kv of ['key', 'value']) this.pastNames.push(`${i}.${part}.${kv}`);
    }
    this.noCache = new ort.Tensor('bool', [false], [1]);
    this.withCache = new ort.Tensor('bool', [true], [1]);
    this.emptyPast = new ort.Tensor('float32', new Float32Array(0), [
      1,
      decoderHeads,
      0,
      dModel / decoderHeads,
    ]);
    this.feeds['encoder_hidden_states'] = audioFeatures;
    this.resetPast();
  }

  private resetPast(): void {
    for (const name of this.pastNames) this.feeds[`past_key_values.${name}`] = this.emptyPast;
  }

  /**
   * Advances the decoder to `tokens` (the full sequence so far, prompt included) and returns the logits
   * of the positions it had to compute: [rows, vocab] row-major, the last row predicting the next token.
   */
  async step(tokens: readonly number[]): Promise<{ logits: Float32Array; rows: number }> {
    const useCache = this.useKvCache && this.started;
    const fresh = useCache ? tokens.slice(this.cachedTokens) : tokens;
    if (fresh.length === 0) throw new RangeError('no new tokens to decode');
    this.feeds['input_ids'] = new ort.Tensor(
      'int64',
      BigInt64Array.from(fresh, (t) => BigInt(t)),
      [1, fresh.length],
    );
    this.feeds['use_cache_branch'] = useCache ? this.withCache : this.noCache;
    const out = await this.model.decoder.run(this.feeds, this.model.stepOutputs);
    if (this.useKvCache) {
      for (const name of this.pastNames) {
        // Cross-attention K/V only come from the no-past branch; keep them after that.
        if (useCache && name.includes('.encoder.')) continue;
        this.feeds[`past_key_values.${name}`] = out[`present.${name}`]!;
      }
      this.cachedTokens = tokens.length;
    }
    this.started = true;
    const logits = out['logits']!;
    return { logits: logits.data as Float32Array, rows: fresh.length };
  }

  /**
   * One pass over the whole of `tokens` without the cache (the session's state is left alone): the logits of
   * every position and the cross-attention weights of `layers` ([1, heads, tokens, 1500] each). Needs a model
   * with word timing.
   */
  async attend(
    tokens: readonly number[],
    layers: readonly number[],
  ): Promise<{ logits: Float32Array; attentions: Map<number, Float32Array> }> {
    const feeds: Record<string, ort.Tensor> = {
      encoder_hidden_states: this.feeds['encoder_hidden_states']!,
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(tokens, (t) => BigInt(t)),
        [1, tokens.length],
      ),
      use_cache_branch: this.noCache,
    };
    for (const name of this.pastNames) feeds[`past_key_values.${name}`] = this.emptyPast;
    const out = await this.model.decoder.run(feeds, ['logits', ...layers.map(crossAttentionName)]);
    const attentions = new Map<number, Float32Array>();
    for (const layer of layers) attentions.set(layer, out[crossAttentionName(layer)]!.data as Float32Array);
    return { logits: out['logits']!.data as Float32Array, attentions };
  }
}
