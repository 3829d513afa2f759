import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '@calltx/storage';
import { RecordingFetchError } from '../errors.js';
import { stereoWav } from '../testing/audio.js';
import { archiveRecording } from './archive-recording.js';

/** An "object store" that accepts connections and never answers: what a hung S3 endpoint looks like. */
let blackHole: ReturnType<typeof createServer>;
const sockets: Socket[] = [];
beforeAll(async () => {
  blackHole = createServer((socket) => sockets.push(socket.on('error', () => undefined)));
  blackHole.listen(0, '127.0.0.1');
  await once(blackHole, 'listening');
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => blackHole.close(resolve));
});

const keys = {
  dual: 'd.wav',
  channels: [
    { speaker: 'agent', key: 'a.wav' },
    { speaker: 'technician', key: 't.wav' },
  ],
} as const;

describe('archiveRecording', () => {
  it.each([
    ['mid-stream (a part upload never returns)', 200],
    ['at the end (the small uploads never complete)', 2],
  ])('gives up on a store that stops answering %s', async (_, seconds) => {
    const store = createObjectStore({
      endpoint: `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`,
      region: 'us-east-1',
      accessKey: 'k',
      secretKey: 'secret-key',
      bucket: 'bucket',
      partSizeBytes: 5 * 1024 * 1024,
      aheadBytes: 64 * 1024,
    });
    const audio = stereoWav(seconds);
    const started = Date.now();
    const error = await archiveRecording({
      body: Readable.from([audio.wav.subarray(0, 1000), audio.wav.subarray(1000)]),
      contentLength: audio.wav.length,
      maxBytes: 1e9,
      store,
      keys,
      stallMs: 300,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordingFetchError);
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
