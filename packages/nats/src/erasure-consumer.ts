import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ErasureService, Subjects } from '@calltx/events';
import { ErasureRequested, internalEvents } from '@calltx/events/internal';
import { consumerMetrics } from './consumer-metrics.js';
import { startDurableConsumer, type RunningConsumer } from './consumer.js';
import { publishEvent } from './publish.js';

export interface ErasureConsumerOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  service: ErasureService;
  /**
   * Deletes everything the service holds of the call, leaving a tombstone. Idempotent: a redelivery or a
   * request asked again runs it again. A retryable error (e.g. the call's data is still being written) naks the
   * request with backoff.
   */
  erase: (callSid: string) => Promise<void>;
  logger: Logger;
  registry: Registry;
  /** DEADLETTER_MAX_DELIVER: past it the request is dead-lettered, and the api's sweeper asks again later. */
  maxDeliver: number;
}

/**
 * A service's part of an erasure: its durable consumer of `erasure.v1.*.requested` (shared by its replicas) runs
 * `erase`, then confirms on `erasure.v1.<CallSid>.done.<service>`. A crash between the two redelivers the request.
 */
export async function startErasureConsumer(options: ErasureConsumerOptions): Promise<RunningConsumer> {
  const { js, jsm, subjects, service, logger } = options;
  return startDurableConsumer({
    jsm,
    js,
    subjects,
    spec: {
      stream: subjects.streamName('erasure'),
      name: `${service}-erasure`,
      filterSubject: subjects.allErasureRequests(),
      ackWaitMs: 120_000,
      maxDeliver: options.maxDeliver,
      maxAckPending: 16,
    },
    schema: ErasureRequested,
    handle: async (event) => {
      await options.erase(event.callSid);
      await publishEvent(
        js,
        subjects.erasureDone(event.callSid, service),
        internalEvents.erasureDone({ callSid: event.callSid, service, at: new Date().toISOString() }),
        `${event.callSid}-${service}-${event.requestedAt}`,
      );
      logger.info({ callSid: event.callSid }, 'call erased here');
    },
    logger,
    metrics: consumerMetrics(options.registry),
    concurrency: 4,
  });
}

/**
 * Calls this replica must forget from now on (`calls.v1.*.erased`): an ordered consumer of its own, since each
 * replica holds its own caches. Runs until `stop`.
 */
export async function followErasedCalls(
  js: JetStreamClient,
  subjects: Subjects,
  forget: (callSid: string) => void,
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  const consumer = await js.consumers.get(subjects.streamName('calls'), {
    filter_subjects: subjects.allCalls('erased'),
    deliver_policy: DeliverPolicy.New,
  });
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const msg of messages) {
      const parsed = subjects.parse(msg.subject);
      if (parsed) forget(parsed.callSid);
    }
  })().catch((error: unknown) => logger.warn({ err: error }, 'stopped following erased calls'));
  return {
    async stop() {
      await messages.close();
      await done;
    },
  };
}
