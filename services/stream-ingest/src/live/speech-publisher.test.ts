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
  it('keeps publishing finals while JetStream has no stream for them (an election): they land, in order, once there is', async () => {
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
      // Recording the first final is slow (a busy database): the second must still wait for it.
      recordFinal: async (_callSid, _speaker, progress) => {
        if (progress.sequence === 0) await new Promise((resolve) => setTimeout(resolve, 500));
        recorded.push(progress.sequence);
      },
    });
    const callSid = `CA${'5'.repeat(32)}`;
    const sink = sinks(callSid, 'agent', undefined);
    const upsampler = new Upsampler2x();
    const silence = new Int16Array(16_000);
    let atMs = 0;
    const push = async (pcm16k: Int16Array) => {
      await sink.push(pcm16k, atMs, new Date().toISOString());
      atMs += pcm16k.length / 16;
    };
    // Two utterances, so two finals wait for the stream at once.
    await push(silence);
    for (const sentence of [
      'The compressor on unit four is leaking oil.',
      'I will bring a new seal tomorrow.',
    ]) {
      await push(upsampler.process(decodeMulaw(speechMulaw(sentence))));
      await push(silence);
    }
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
      // Recorded in order, each once published: a replica resuming after the last recorded skips none.
      expect(recorded).toEqual([0, 1]);
      const msg = await jsm.streams.getMessage(stream.name, {
        last_by_subj: subjects.audio(callSid, 'agent', 'final'),
      });
      expect(decodeEvent(SpeechSegment, msg!.data)).toMatchObject({ callSid, speaker: 'agent', final: true });
    } finally {
      await jsm.streams.delete(stream.name);
    }
  }, 60_000);
});
