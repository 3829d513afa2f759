import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { CallEvent, RecordingEvent, TranscriptEvent, type Subjects } from '@calltx/events';
import { CallParties } from '@calltx/events/internal';
import {
  consumerMetrics,
  startDurableConsumer,
  type DurableConsumerSpec,
  type RunningConsumer,
} from '@calltx/nats';
import { type Logger } from '@calltx/runtime';
import { type Pool } from '@calltx/db';
import { ReadModelProjector } from './projector.js';

export const READ_MODEL_CONSUMERS = {
  calls: 'api-calls',
  recordings: 'api-recordings',
  transcripts: 'api-transcripts',
  /** Internal: the parties in clear, only where the gateway has STORE_CALLER_NUMBERS (docs/privacy.md). */
  parties: 'api-parties',
} as const;
type Feed = keyof typeof READ_MODEL_CONSUMERS;

/**
 * One durable consumer per public family, and one on the internal parties, shared by every api replica;
 * transcripts: finals only.
 */
export function readModelConsumerSpecs(
  subjects: Subjects,
  maxDeliver: number,
): Record<Feed, DurableConsumerSpec> {
  const spec = (feed: Feed, filterSubject: string): DurableConsumerSpec => ({
    stream: subjects.streamName(feed),
    name: READ_MODEL_CONSUMERS[feed],
    filterSubject,
    ackWaitMs: 30_000,
    maxDeliver,
    maxAckPending: 1_000,
  });
  return {
    calls: spec('calls', subjects.all('calls')),
    recordings: spec('recordings', subjects.all('recordings')),
    transcripts: spec('transcripts', subjects.allTranscripts('final')),
    parties: spec('parties', subjects.all('parties')),
  };
}

export interface ReadModelDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  pool: Pool;
  logger: Logger;
  registry: Registry;
  /** DEADLETTER_MAX_DELIVER: an event that keeps failing is dead-lettered after this many deliveries. */
  maxDeliver: number;
}

export interface ReadModelFeed {
  /** Every event stored so far was handled (acknowledged or dead-lettered). */
  caughtUp(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Keeps the read model up to date: the four consumers run one event at a time each, in stream order. A
 * failure is retried with backoff and, past `maxDeliver`, dead-lettered (settleMessage), as in every service.
 */
export async function startReadModelFeed(deps: ReadModelDeps): Promise<ReadModelFeed> {
  const { js, jsm, subjects, logger } = deps;
  const specs = readModelConsumerSpecs(subjects, deps.maxDeliver);
  const projector = new ReadModelProjector(deps.pool);
  const metrics = consumerMetrics(deps.registry);
  const run = async <S extends z.ZodType>(
    spec: DurableConsumerSpec,
    schema: S,
    handle: (event: z.output<S>) => Promise<void>,
  ): Promise<RunningConsumer> =>
    startDurableConsumer({ jsm, js, subjects, spec, schema, handle, logger, metrics });
  const running = [
    await run(specs.calls, CallEvent, (event) => projector.call(event)),
    await run(specs.recordings, RecordingEvent, (event) => projector.recording(event)),
    await run(specs.transcripts, TranscriptEvent, (event) => projector.transcript(event)),
    await run(specs.parties, CallParties, (event) => projector.parties(event)),
  ];
  return {
    async caughtUp() {
      for (const spec of Object.values(specs)) {
        const info = await jsm.consumers.info(spec.stream, spec.name);
        if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
      }
      return true;
    },
    async stop() {
      await Promise.all(running.map((consumer) => consumer.stop()));
    },
  };
}
