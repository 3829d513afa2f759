import { Upsampler2x, WAVE_FORMAT_PCM, WavFormatError, parseWavHeader, type WavInfo } from '@calltx/audio';
import { CalltxError } from '@calltx/events';
import { type ObjectStore } from '@calltx/storage';

/** The recording can't be transcribed as stored (missing, not a mono 16-bit PCM WAV at 8 or 16 kHz): never retried. */
export class RecordingFormatError extends CalltxError {}

const HEADER_BYTES = 64 * 1024;
/** Bytes per ranged read: 20 s of 8 kHz audio. Short reads never hold an S3 connection across inference. */
const READ_BYTES = 320_000;

/**
 * One stored mono channel of a recording, read in ranged requests and delivered as 16 kHz PCM blocks
 * (upsampled from 8 kHz with the project's half-band filter when needed). Memory stays at one block
 * whatever the recording's length.
 */
export class RecordingAudio {
  private constructor(
    private readonly store: ObjectStore,
    readonly key: string,
    readonly wav: WavInfo,
    /** Sample bytes present: the header's data size, or up to the end of the object when it is unset. */
    readonly dataBytes: number,
  ) {}

  get sampleRate(): number {
    return this.wav.sampleRate;
  }

  get durationMs(): number {
    return Math.round((this.dataBytes / 2 / this.wav.sampleRate) * 1000);
  }

  static async open(store: ObjectStore, key: string): Promise<RecordingAudio> {
    const info = await store.stat(key);
    if (!info) throw new RecordingFormatError(`recording object "${key}" does not exist`);
    let wav: WavInfo;
    try {
      wav = parseWavHeader(await store.getRange(key, 0, Math.min(info.size, HEADER_BYTES)));
    } catch (error) {
      if (error instanceof WavFormatError)
        throw new RecordingFormatError(`recording "${key}": ${error.message}`, { cause: error });
      throw error;
    }
    if (wav.formatCode !== WAVE_FORMAT_PCM || wav.bitsPerSample !== 16 || wav.channels !== 1) {
      throw new RecordingFormatError(
        `recording "${key}" is format ${wav.formatCode}, ${wav.bitsPerSample} bits, ${wav.channels} channels; mono 16-bit PCM expected`,
      );
    }
    if (wav.sampleRate !== 8000 && wav.sampleRate !== 16000) {
      throw new RecordingFormatError(`recording "${key}" is ${wav.sampleRate} Hz; 8000 or 16000 expected`);
    }
    const available = info.size - wav.dataOffset;
    // Streaming writers leave 0 or 0xFFFFFFFF in the data size: then the samples run to the end of the object.
    const declared = wav.dataBytes === 0 || wav.dataBytes === 0xffffffff ? available : wav.dataBytes;
    const dataBytes = Math.max(0, Math.min(declared, available)) & ~1;
    return new RecordingAudio(store, key, wav, dataBytes);
  }

  /** The audio at 16 kHz in blocks of exactly `blockSamples` samples (the last one shorter). */
  async *blocks16k(blockSamples: number): AsyncGenerator<Int16Array> {
    const upsampler = this.wav.sampleRate === 8000 ? new Upsampler2x() : undefined;
    const block = new Int16Array(blockSamples);
    let fill = 0;
    const take = function* (pcm: Int16Array): Generator<Int16Array> {
      for (let i = 0; i < pcm.length;) {
        const count = Math.min(blockSamples - fill, pcm.length - i);
        block.set(pcm.subarray(i, i + count), fill);
        fill += count;
        i += count;
        if (fill === blockSamples) {
          fill = 0;
          yield block.slice();
        }
      }
    };
    for (let offset = 0; offset < this.dataBytes; offset += READ_BYTES) {
      const length = Math.min(READ_BYTES, this.dataBytes - offset);
      const bytes = await this.store.getRange(this.key, this.wav.dataOffset + offset, length);
      const samples = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(2 * i);
      yield* take(upsampler ? upsampler.process(samples) : samples);
    }
    if (upsampler) yield* take(upsampler.flush());
    if (fill > 0) yield block.slice(0, fill);
  }
}
