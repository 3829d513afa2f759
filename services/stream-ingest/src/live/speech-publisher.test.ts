import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Upsampler2x, decodeMulaw } from '@calltx/audio';
import { natsUrlForTests, uniqueName } from '@calltx/devstack';
import { Segmenter } from '@calltx/speech';
import { SpeechSegment } from '@calltx/events/internal';
import { Subjects, decodeEvent } from '@calltx/events';
import { createLogger, createMetricsRegistry } from '@calltx/runtime';
import { streamConfig } from '@calltx/nats';
import { createIngestMetrics } from '../metrics.js';
import { LogCapture, sharedVad } from '../testing/in-process.js';
import { speechMulaw } from '../testing/speech-audio.js';
import { speechPublisher } from './speech-publisher.js';

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: natsUrlForTests() });
});
afterAll(async () => {
  await nc?.close();
});

describe('speechPublisher', () => {
  it('keeps publishing a final while JetStream has no stream for it (an election), and it lands once there is', async () => {
    const subjects = new Subjects(uniqueName('spub'));
    const jsm = await jetstreamManager(nc);
    const vad = await sharedVad();
    const recorded: number[] = [];
    const logs = new LogCapture();
    const sinks = speechPublisher({
      js: jetstream(nc),
      subjects,
      logger: createLogger({ service: 'stream-ingest', level: 'debug', destination: logs }),
      metrics: createIngestMetrics(createMetricsRegistry('stream-ingest')),
      createSegmenter: (streamId) => new Segmenter(vad, { streamId }),
      recordFinal: async (_callSid, _speaker, progress) => void recorded.push(progress.sequence),
    });
    const callSid = `CA${'5'.repeat(32)}`;
    const sink = sinks(callSid, 'agent', undefined);
    const pcm8k = decodeMulaw(speechMulaw('The compressor on unit four is leaking oil.'));
    const upsampler = new Upsampler2x();
    const silence = new Int16Array(16_000);
    await sink.push(silence, 0, new Date().toISOString());
    await sink.push(upsampler.process(pcm8k), 1_000, new Date().toISOString());
    await sink.push(silence, 1_000 + pcm8k.length / 8, new Date().toISOString());
    let ended = false;
    const ending = sink.end().then(() => (ended = true));

    // No AUDIO stream: every publish gets "no responders" at once, as while a stream has no leader.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(recorded).toEqual([]);
    // The stream's end waits for its final: a call is not finalized with it still on its way.
    expect(ended).toBe(false);
    const stream = streamConfig(subjects, 'audio', 1);
    await jsm.streams.add(stream);
    try {
      await ending;
      expect(recorded.length).toBeGreaterThan(0);
      const msg = await jsm.streams.getMessage(stream.name, {
        last_by_subj: subjects.audio(callSid, 'agent', 'final'),
      });
      expect(decodeEvent(SpeechSegment, msg!.data)).toMatchObject({ callSid, speaker: 'agent', final: true });
    } finally {
      await jsm.streams.delete(stream.name);
    }
  }, 60_000);
});
