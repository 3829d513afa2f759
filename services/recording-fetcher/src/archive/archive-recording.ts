import { setTimeout as sleep } from 'node:timers/promises';
import {
  StereoSplitter,
  WAVE_FORMAT_PCM,
  WAV_HEADER_BYTES,
  WavFormatError,
  parseWavHeader,
  wavHeader,
  type WavInfo,
} from '@calltx/audio';
import type { ObjectStore } from '@calltx/storage';
import { RecordingFetchError } from '../errors.js';
import { UploadSink } from './upload-sink.js';

/** Headers longer than this (extra chunks before `data`) are not what Twilio serves. */
const MAX_HEADER_BYTES = 64 * 1024;
const MIN_SAMPLE_RATE = 8000;
const MAX_SAMPLE_RATE = 48000;
const STEREO_FRAME_BYTES = 4;

export interface ArchiveKeys {
  dual: string;
  /** Channel 1 then channel 2, each with the speaker it carries. */
  channels: readonly [{ speaker: string; key: string }, { speaker: string; key: string }];
}

export interface ArchivedObject {
  /** 'dual' or the speaker of the channel. */
  role: string;
  /** 1 or 2 for a channel, null for the dual-channel original. */
  channel: 1 | 2 | null;
  key: string;
  bytes: number;
  sha256: string;
  durationMs: number;
}

export interface ArchivedRecording {
  sampleRate: number;
  durationMs: number;
  objects: ArchivedObject[];
}

export interface ArchiveInput {
  body: AsyncIterable<Buffer>;
  /** As declared by the server; must agree with the WAV header when present. */
  contentLength: number | undefined;
  maxBytes: number;
  store: ObjectStore;
  keys: ArchiveKeys;
  /** Waiting this long on the store (a write it does not take, or uploads that do not complete) fails the attempt. */
  stallMs: number;
}

/**
 * Reads a dual-channel WAV once and, as it arrives, uploads it unchanged and split into one mono WAV per
 * channel (their headers follow from the original's before any sample arrives). The uploads are only
 * completed once the whole body has arrived and matched its header; on any failure they are aborted, and
 * objects already completed are removed, so nothing half-written is ever visible.
 */
export async function archiveRecording({
  body,
  contentLength,
  maxBytes,
  store,
  keys,
  stallMs,
}: ArchiveInput): Promise<ArchivedRecording> {
  const iterator = body[Symbol.asyncIterator]();
  const { info, head } = await readHeader(iterator);
  const expectedBytes = checkFormat(info, contentLength, maxBytes);
  if (head.length > expectedBytes) {
    throw new RecordingFetchError(
      'length-mismatch',
      `more bytes than the WAV header declares (${expectedBytes})`,
    );
  }
  const monoDataBytes = info.dataBytes / 2;
  const monoHeader = wavHeader({
    sampleRate: info.sampleRate,
    channels: 1,
    bitsPerSample: 16,
    dataBytes: monoDataBytes,
  });

  const dual = new UploadSink(store, keys.dual);
  const left = new UploadSink(store, keys.channels[0].key);
  const right = new UploadSink(store, keys.channels[1].key);
  const sinks = [dual, left, right];
  const splitter = new StereoSplitter();
  let received = head.length;

  const handOn = async (whole: Buffer, data: Buffer) => {
    waitingSince = Date.now();
    await dual.write(whole);
    const { left: l, right: r } = splitter.push(data);
    await left.write(l);
    await right.write(r);
    waitingSince = undefined;
  };

  // The download has its own timeouts; this catches a store that stops answering (a blocked write or an
  // upload that never completes would otherwise hold the recording forever).
  let waitingSince: number | undefined;
  const watchdog = setInterval(
    () => {
      if (waitingSince === undefined || Date.now() - waitingSince <= stallMs) return;
      const stalled = new RecordingFetchError(
        'timeout',
        `no progress for ${stallMs} ms (the object store is not taking data)`,
        { retryable: true },
      );
      for (const sink of sinks) sink.fail(stalled);
    },
    Math.max(50, Math.min(1_000, stallMs / 4)),
  );

  let completions: Array<Promise<unknown>> = [];
  try {
    await left.write(monoHeader);
    await right.write(monoHeader);
    await handOn(head, head.subarray(info.dataOffset));
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const chunk = next.value;
      received += chunk.length;
      if (received > expectedBytes) {
        throw new RecordingFetchError(
          'length-mismatch',
          `more bytes than the WAV header declares (${expectedBytes})`,
        );
      }
      await handOn(chunk, chunk);
    }
    if (received < expectedBytes) {
      throw new RecordingFetchError('truncated', `body ended after ${received} of ${expectedBytes} bytes`, {
        retryable: true,
      });
    }
    splitter.end();
    const monoBytes = WAV_HEADER_BYTES + monoDataBytes;
    if (dual.bytes !== expectedBytes || left.bytes !== monoBytes || right.bytes !== monoBytes) {
      throw new Error(
        `split sizes ${dual.bytes}/${left.bytes}/${right.bytes} disagree with the header (${expectedBytes}/${monoBytes})`,
      );
    }
    waitingSince = Date.now();
    completions = sinks.map((sink) => sink.end());
    await Promise.all(completions);
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    for (const sink of sinks) sink.fail(reason);
    await iterator.return?.();
    // Uploads only complete once ended; then a failure may leave some complete: take them back. Bounded,
    // since the store may be the thing that failed.
    if (completions.length > 0) {
      const cleanup = Promise.allSettled(completions).then(() =>
        Promise.all(sinks.map((sink) => store.remove(sink.key))),
      );
      await Promise.race([cleanup.catch(() => undefined), sleep(stallMs)]);
    }
    throw error;
  } finally {
    clearInterval(watchdog);
  }

  const durationMs = Math.round((info.dataBytes / STEREO_FRAME_BYTES / info.sampleRate) * 1000);
  return {
    sampleRate: info.sampleRate,
    durationMs,
    objects: [
      { role: 'dual', channel: null, key: dual.key, bytes: dual.bytes, sha256: dual.sha256(), durationMs },
      {
        role: keys.channels[0].speaker,
        channel: 1,
        key: left.key,
        bytes: left.bytes,
        sha256: left.sha256(),
        durationMs,
      },
      {
        role: keys.channels[1].speaker,
        channel: 2,
        key: right.key,
        bytes: right.bytes,
        sha256: right.sha256(),
        durationMs,
      },
    ],
  };
}

/** Reads chunks until the WAV header (up to the first sample) is complete. */
async function readHeader(iterator: AsyncIterator<Buffer>): Promise<{ info: WavInfo; head: Buffer }> {
  let head = Buffer.alloc(0);
  for (;;) {
    try {
      return { info: parseWavHeader(head), head };
    } catch (error) {
      if (!(error instanceof WavFormatError)) throw error;
      if (error.problem !== 'truncated') {
        throw new RecordingFetchError('invalid-wav', `not a usable WAV file: ${error.message}`, {
          cause: error,
        });
      }
    }
    if (head.length > MAX_HEADER_BYTES)
      throw new RecordingFetchError('invalid-wav', `no WAV data chunk within ${MAX_HEADER_BYTES} bytes`);
    const next = await iterator.next();
    if (next.done) {
      throw new RecordingFetchError(
        'truncated',
        `body ended after ${head.length} bytes, inside the WAV header`,
        { retryable: true },
      );
    }
    head = Buffer.concat([head, next.value]);
  }
}

/** Checks the format is a dual-channel 16-bit PCM WAV of a consistent size; returns the file's size. */
function checkFormat(info: WavInfo, contentLength: number | undefined, maxBytes: number): number {
  if (info.channels !== 2) {
    throw new RecordingFetchError(
      'not-dual-channel',
      `the WAV has ${info.channels} channel(s), a dual-channel recording was expected`,
    );
  }
  if (info.formatCode !== WAVE_FORMAT_PCM || info.bitsPerSample !== 16) {
    throw new RecordingFetchError(
      'unsupported-encoding',
      `the WAV is format ${info.formatCode} at ${info.bitsPerSample} bits, 16-bit PCM was expected`,
    );
  }
  if (info.sampleRate < MIN_SAMPLE_RATE || info.sampleRate > MAX_SAMPLE_RATE) {
    throw new RecordingFetchError(
      'unsupported-encoding',
      `sample rate ${info.sampleRate} Hz is outside ${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE}`,
    );
  }
  if (info.dataBytes === 0 || info.dataBytes === 0xffffffff || info.dataBytes % STEREO_FRAME_BYTES !== 0) {
    throw new RecordingFetchError(
      'invalid-wav',
      `the WAV data chunk declares ${info.dataBytes} bytes, not a whole number of stereo frames`,
    );
  }
  const expectedBytes = info.dataOffset + info.dataBytes;
  if (expectedBytes > maxBytes)
    throw new RecordingFetchError(
      'too-large',
      `the WAV declares ${expectedBytes} bytes, over the ${maxBytes}-byte limit`,
    );
  if (contentLength !== undefined && contentLength !== expectedBytes) {
    throw new RecordingFetchError(
      'length-mismatch',
      `Content-Length ${contentLength} disagrees with the WAV header (${expectedBytes} bytes)`,
    );
  }
  return expectedBytes;
}
