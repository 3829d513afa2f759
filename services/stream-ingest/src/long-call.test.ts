import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Upsampler2x,
  WAV_HEADER_BYTES,
  decodeMulaw,
  parseWavHeader,
  pcm16leBytes,
  wavHeader,
} from '@calltx/audio';
import { FRAME_BYTES, SAMPLES_PER_MS } from './frames/frame.js';
import { wavKey } from './spool/object-keys.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { SyntheticCall, framePayload, type SentFrame } from './testing/synthetic-call.js';

/**
 * A 35.5-minute call (one speaker): its 16 kHz WAV is over 64 MiB, past minio-js's single-part limit, so it must
 * go up as an explicit multipart upload. Frames are published straight to JetStream as fast as the server takes
 * them, 20 s of audio per message; the ingest (in this process, so its heap can be measured after forced GCs)
 * works through them at full speed.
 */
const CALL_MS = 35.5 * 60 * 1000;
const FRAMES_PER_MESSAGE = 1000;
const MiB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/** After a full GC: RSS, and what is really held (JS heap plus Buffers and other off-heap memory). */
const memoryAfterGc = () => {
  collectGarbage();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, held: heapUsed + external };
};

/** Mostly digital silence with one second in fifty of noise: cheap for the VAD, yet every byte checked. */
function payloadAt(seed: string, timestampMs: number): Buffer {
  return timestampMs % 50_000 < 1_000
    ? framePayload(seed, 'inbound', timestampMs)
    : Buffer.alloc(FRAME_BYTES, 0xff);
}

/** sha256 of the WAV the call must produce, computed in blocks (the whole never exists at once). */
function expectedSha256(seed: string, sampleRate: 8000 | 16000): string {
  const totalSamples = CALL_MS * SAMPLES_PER_MS;
  const hash = createHash('sha256');
  hash.update(
    wavHeader({
      sampleRate,
      channels: 1,
      bitsPerSample: 16,
      dataBytes: (sampleRate / 8000) * totalSamples * 2,
    }),
  );
  const upsampler = new Upsampler2x();
  const block = Buffer.alloc(FRAMES_PER_MESSAGE * FRAME_BYTES);
  for (let ts = 0; ts < CALL_MS; ts += FRAMES_PER_MESSAGE * 20) {
    const frames = Math.min(FRAMES_PER_MESSAGE, (CALL_MS - ts) / 20);
    for (let i = 0; i < frames; i++) payloadAt(seed, ts + 20 * i).copy(block, i * FRAME_BYTES);
    const pcm = decodeMulaw(block.subarray(0, frames * FRAME_BYTES));
    hash.update(pcm16leBytes(sampleRate === 8000 ? pcm : upsampler.process(pcm)));
  }
  if (sampleRate === 16000) hash.update(pcm16leBytes(upsampler.flush()));
  return hash.digest('hex');
}

describe('a long call', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env, { timing: { partFlushMs: 1_000 } });
  });

  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  it(
    'stores a 16 kHz WAV over 64 MiB, in memory that does not grow with the call',
    { timeout: 150_000 },
    async () => {
      const call = new SyntheticCall(env.js, env.subjects, ['inbound']);
      await call.start();
      for (let ts = 0; ts < CALL_MS; ts += FRAMES_PER_MESSAGE * 20) {
        const frames: SentFrame[] = [];
        for (let i = 0; i < FRAMES_PER_MESSAGE && ts + 20 * i < CALL_MS; i++) {
          frames.push({
            timestampMs: ts + 20 * i,
            payload: payloadAt(call.callSid, ts + 20 * i).toString('base64'),
          });
        }
        await call.send('inbound', frames, { valid: false });
      }
      await call.stop({ lastTimestampMs: { inbound: CALL_MS - 20, outbound: -1 } });

      // Memory once a few minutes are in (VAD, upsampler, buffers warm), then at intervals through finalize.
      const stored = () => ingest.metric('calltx_ingest_frames_stored_total', { speaker: 'agent' });
      await eventually(async () => expect(await stored()).toBeGreaterThanOrEqual(15_000), 60_000, 50);
      const baseline = memoryAfterGc();
      const peak = { rss: baseline.rss, consuming: baseline.held, finalizing: baseline.held };
      const finalizing = () =>
        ingest.logs.lines.some((l) => l.callSid === call.callSid && l.msg === 'finalizing call');
      const sampler = setInterval(() => {
        const phase = finalizing() ? 'finalizing' : 'consuming';
        const now = memoryAfterGc();
        peak.rss = Math.max(peak.rss, now.rss);
        peak[phase] = Math.max(peak[phase], now.held);
      }, 200);
      try {
        await eventually(
          async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
          120_000,
          250,
        );
      } finally {
        clearInterval(sampler);
      }

      const files = await env.repo.files(call.callSid);
      const wav16k = files.find((f) => f.sampleRate === 16000)!;
      expect(wav16k.key).toBe(wavKey(call.callSid, 'agent', 16000));
      expect(wav16k.bytes).toBe(WAV_HEADER_BYTES + CALL_MS * SAMPLES_PER_MS * 4);
      expect(wav16k.bytes).toBeGreaterThan(64 * MiB);
      expect(wav16k.durationMs).toBe(CALL_MS);
      expect(wav16k.gapFilledMs).toBe(0);
      // The object as stored (read back in a stream) is exactly the expected audio.
      const hash = createHash('sha256');
      let header: Buffer | undefined;
      for await (const chunk of await env.store.getObject(wav16k.key)) {
        header ??= chunk as Buffer;
        hash.update(chunk as Buffer);
      }
      expect(parseWavHeader(header!)).toMatchObject({
        sampleRate: 16000,
        dataBytes: wav16k.bytes - WAV_HEADER_BYTES,
      });
      const expected16k = expectedSha256(call.callSid, 16000);
      expect(hash.digest('hex')).toBe(expected16k);
      expect(wav16k.sha256).toBe(expected16k);
      expect(files.find((f) => f.sampleRate === 8000)!.sha256).toBe(expectedSha256(call.callSid, 8000));

      // Holding the call's frames would add ~25 MiB while consuming; its 8 kHz audio 34 MiB (16 kHz: 65 MiB) while
      // finalizing, where an upload's part buffer (8 MiB) and the in-process S3 server's buffers are expected.
      const growth = {
        rss: (peak.rss - baseline.rss) / MiB,
        consuming: (peak.consuming - baseline.held) / MiB,
        finalizing: (peak.finalizing - baseline.held) / MiB,
      };
      console.info(
        `long call: peak growth (MiB) ${JSON.stringify(growth)}, baseline RSS ${Math.round(baseline.rss / MiB)} MiB`,
      );
      expect(growth.consuming).toBeLessThan(10);
      expect(growth.finalizing).toBeLessThan(32);
      expect(growth.rss).toBeLessThan(48);
    },
  );
});
