import { createHash } from 'node:crypto';
import { CalltxError } from '@calltx/events';
import { type ObjectStore } from '@calltx/storage';
import { Upsampler2x, pcm16leBytes, wavHeader } from '@calltx/audio';

export class WavWriteError extends CalltxError {}

export interface StoredWav {
  key: string;
  sampleRate: 8000 | 16000;
  bytes: number;
  durationMs: number;
  sha256: string;
}

/** 16 kHz from 8 kHz blocks through one fresh upsampler: the stored file is seamless across the whole call. */
export async function* upsampled(blocks: AsyncIterable<Int16Array>): AsyncGenerator<Int16Array> {
  const upsampler = new Upsampler2x();
  for await (const block of blocks) {
    const out = upsampler.process(block);
    if (out.length > 0) yield out;
  }
  const tail = upsampler.flush();
  if (tail.length > 0) yield tail;
}

/**
 * Streams a mono 16-bit WAV to the store: the header first (the length is known up front), then the PCM,
 * hashing as it goes. Throws if the PCM does not have the announced length, so a wrong header is never stored, and
 * when `signal` aborts (the multipart upload is then aborted: nothing becomes visible).
 */
export async function storeWav(
  store: ObjectStore,
  key: string,
  sampleRate: 8000 | 16000,
  totalSamples: number,
  pcm: AsyncIterable<Int16Array>,
  signal?: AbortSignal,
): Promise<StoredWav> {
  const dataBytes = totalSamples * 2;
  const hash = createHash('sha256');
  let written = 0;
  async function* body(): AsyncGenerator<Buffer> {
    const header = wavHeader({ sampleRate, channels: 1, bitsPerSample: 16, dataBytes });
    hash.update(header);
    yield header;
    for await (const block of pcm) {
      signal?.throwIfAborted();
      const bytes = pcm16leBytes(block);
      written += bytes.length;
      if (written > dataBytes)
        throw new WavWriteError(`${key}: more PCM than the ${dataBytes} bytes announced`);
      hash.update(bytes);
      yield bytes;
    }
    if (written !== dataBytes)
      throw new WavWriteError(`${key}: ${written} bytes of PCM, ${dataBytes} announced`);
  }
  const { size } = await store.putStream(key, body(), { contentType: 'audio/wav' });
  return {
    key,
    sampleRate,
    bytes: size,
    durationMs: Math.round(totalSamples / (sampleRate / 1000)),
    sha256: hash.digest('hex'),
  };
}
