import { createHash } from 'node:crypto';
import { WavFormatError } from './errors.js';
import { WAVE_FORMAT_PCM, parseWavHeader } from './header.js';

export type RedactionFill = 'silence' | 'tone';

/** The tone that covers a span with AUDIO_REDACT_FILL=tone: 1 kHz at −20 dBFS (peak round(32767 × 0.1)). */
export const REDACTION_TONE_HZ = 1_000;
export const REDACTION_TONE_PEAK = 3_277;

export interface RedactionSpan {
  /** Milliseconds from the file's first sample. */
  startMs: number;
  endMs: number;
  /** 0-based channel to cover; every channel when absent. */
  channel?: number;
}

export interface WavRedaction {
  spans: readonly RedactionSpan[];
  fill: RedactionFill;
}

/**
 * The sample frames `[start, end)` a span covers: from the frame holding its start to the one holding its last
 * millisecond, so a span never leaves a partial sample of speech at either edge.
 */
export function spanFrames(span: RedactionSpan, sampleRate: number): { start: number; end: number } {
  return {
    start: Math.max(0, Math.floor((span.startMs * sampleRate) / 1000)),
    end: Math.max(0, Math.ceil((span.endMs * sampleRate) / 1000)),
  };
}

/**
 * What frame `index` holds once covered. The tone's phase is counted from the file's first sample, so covering
 * a span twice (or two overlapping spans) writes the same samples: a rewrite is idempotent.
 */
export function redactedSample(fill: RedactionFill, index: number, sampleRate: number): number {
  if (fill === 'silence') return 0;
  return Math.round(REDACTION_TONE_PEAK * Math.sin((2 * Math.PI * REDACTION_TONE_HZ * index) / sampleRate));
}

/** Largest header read before giving up (the files calltx writes have 44 bytes; Twilio's a few more). */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * A 16-bit PCM WAV, streamed, with the spans covered (silence or tone) and every other byte as it came: the
 * header, samples outside the spans, other channels and anything after the data chunk. Memory stays at one
 * chunk of the source.
 */
export async function* redactWav(
  source: AsyncIterable<Uint8Array>,
  redaction: WavRedaction,
): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let info: ReturnType<typeof parseWavHeader> | undefined;
  const iterator = source[Symbol.asyncIterator]();
  while (!info) {
    const next = await iterator.next();
    if (next.done)
      throw new WavFormatError('truncated', `WAV ended after ${head.length} bytes, inside its header`);
    head = Buffer.concat([head, next.value]);
    try {
      info = parseWavHeader(head);
    } catch (error) {
      if (
        !(error instanceof WavFormatError) ||
        error.problem !== 'truncated' ||
        head.length > MAX_HEADER_BYTES
      )
        throw error;
    }
  }
  if (info.formatCode !== WAVE_FORMAT_PCM || info.bitsPerSample !== 16) {
    throw new WavFormatError(
      'unsupported',
      `only 16-bit PCM can be redacted (format ${info.formatCode}, ${info.bitsPerSample} bits)`,
    );
  }
  const { blockAlign, channels, sampleRate, dataOffset } = info;
  const declared = info.dataBytes === 0 || info.dataBytes === 0xffffffff ? Infinity : info.dataBytes;
  const dataEnd = dataOffset + declared - (declared % blockAlign);
  const spans = redaction.spans
    .filter((span) => span.channel === undefined || (span.channel >= 0 && span.channel < channels))
    .map((span) => ({ ...spanFrames(span, sampleRate), channel: span.channel }));

  let position = 0; // file offset of the next byte in
  let carry = Buffer.alloc(0); // a partial frame, held until the rest of it arrives
  const cover = (bytes: Buffer, firstFrame: number) => {
    const frames = bytes.length / blockAlign;
    for (const { start, end, channel } of spans) {
      const from = Math.max(start, firstFrame);
      const to = Math.min(end, firstFrame + frames);
      for (let frame = from; frame < to; frame++) {
        const value = redactedSample(redaction.fill, frame, sampleRate);
        const base = (frame - firstFrame) * blockAlign;
        if (channel !== undefined) bytes.writeInt16LE(value, base + 2 * channel);
        else for (let c = 0; c < channels; c++) bytes.writeInt16LE(value, base + 2 * c);
      }
    }
  };

  const take = function* (chunk: Buffer): Generator<Buffer> {
    let rest = chunk;
    // Header bytes (and anything after the data) pass through unchanged.
    if (position < dataOffset) {
      const n = Math.min(rest.length, dataOffset - position);
      yield rest.subarray(0, n);
      position += n;
      rest = rest.subarray(n);
    }
    if (rest.length === 0) return;
    const inData = Math.max(0, Math.min(rest.length, dataEnd - position));
    if (inData > 0) {
      const data = Buffer.concat([carry, rest.subarray(0, inData)]);
      const whole = data.length - (data.length % blockAlign);
      const firstFrame = (position - carry.length - dataOffset) / blockAlign;
      const out = Buffer.from(data.subarray(0, whole)); // a copy: the source's buffer is never changed
      cover(out, firstFrame);
      if (out.length > 0) yield out;
      carry = Buffer.from(data.subarray(whole));
      position += inData;
      rest = rest.subarray(inData);
    }
    if (rest.length > 0) {
      if (carry.length > 0) yield carry; // a trailing partial frame: not a sample, left as it was
      carry = Buffer.alloc(0);
      position += rest.length;
      yield rest;
    }
  };

  yield* take(head);
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    yield* take(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
  }
  if (carry.length > 0) yield carry;
}

/** The object store as a rewrite needs it (structurally @calltx/storage's ObjectStore). */
export interface RewritableStore {
  getObject(key: string): Promise<AsyncIterable<Uint8Array>>;
  putStream(key: string, body: AsyncIterable<Buffer>, options?: { contentType?: string }): Promise<unknown>;
}

/**
 * Rewrites a stored WAV with the spans covered (redactWav), under the same key: the new content only becomes
 * visible once completely uploaded, so a failure leaves the previous one. Returns its size and SHA-256.
 */
export async function redactStoredWav(
  store: RewritableStore,
  key: string,
  redaction: WavRedaction,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of redactWav(await store.getObject(key), redaction)) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  }
  await store.putStream(key, hashed(), { contentType: 'audio/wav' });
  return { bytes, sha256: hash.digest('hex') };
}
