import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { callEvents, ERASURE_SERVICES, type Family, type Subjects } from '@calltx/events';
import { ErasureDone, internalEvents } from '@calltx/events/internal';
import { consumerMetrics, startDurableConsumer, publishEvent, type RunningConsumer } from '@calltx/nats';
import type { Logger } from '@calltx/runtime';
import type { Pool } from '@calltx/db';
import { ErasuresRepository, type ErasureAttempt } from './erasures-repository.js';

/** Every stream a call's messages may be in: purged by subject once every service confirmed. Not ERASURE. */
export const PURGED_FAMILIES: readonly Family[] = [
  'calls',
  'parties',
  'media',
  'audio',
  'transcripts',
  'recordings',
  'transcribe',
  'deadletter',
];

export const ERASURE_DONE_CONSUMER = 'api-erasure-done';

export interface ErasureCoordinatorDeps {
  pool: Pool;
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  logger: Logger;
}

/**
 * Drives erasures: publishes the requests, collects each service's confirmation and, once all of them
 * confirmed, purges the call's messages from every stream, deletes its read-model rows and announces
 * `calls.v1.<CallSid>.erased`. Every step can run again (a redelivery, the sweeper, another replica).
 */
export class ErasureCoordinator {
  readonly repository: ErasuresRepository;

  constructor(private readonly deps: ErasureCoordinatorDeps) {
    this.repository = new ErasuresRepository(deps.pool);
  }

  /** Asks every service to erase the call (again). */
  async publishRequest({ callSid, attempts }: ErasureAttempt): Promise<void> {
    const { js, subjects } = this.deps;
    await publishEvent(
      js,
      subjects.erasureRequested(callSid),
      internalEvents.erasureRequested({ callSid, requestedAt: new Date().toISOString() }),
      `${callSid}-erase-${attempts}`,
    );
  }

  /** One service's confirmation: when it completes the set, finishes the erasure. */
  async confirmed(event: ErasureDone): Promise<void> {
    const row = await this.repository.confirm(event.callSid, event.service);
    if (!row || row.state === 'erased') return;
    if (!ERASURE_SERVICES.every((service) => row.confirmed.includes(service))) return;
    if (row.state === 'requested') {
      await this.purge(event.callSid);
      await this.repository.forgetAndMarkPurged(event.callSid);
    }
    // Purged: announce. The erased event is not purged again after this, and its Nats-Msg-Id keeps it one.
    await publishEvent(
      this.deps.js,
      this.deps.subjects.call(event.callSid, 'erased'),
      callEvents.erased({ callSid: event.callSid, at: new Date().toISOString() }),
      `${event.callSid}-erased`,
    );
    await this.repository.markErased(event.callSid);
    this.deps.logger.info({ callSid: event.callSid }, 'call erased');
  }

  private async purge(callSid: string): Promise<void> {
    const { jsm, subjects } = this.deps;
    for (const family of PURGED_FAMILIES) {
      try {
        await jsm.streams.purge(subjects.streamName(family), { filter: subjects.all(family, callSid) });
      } catch (error) {
        // A stream this deployment never created holds nothing of the call.
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) continue;
        throw error;
      }
    }
  }
}

export interface ErasureFeed {
  stop(): Promise<void>;
}

/** The api's consumer of every service's confirmation, shared by its replicas. */
export async function startErasureFeed(
  coordinator: ErasureCoordinator,
  deps: ErasureCoordinatorDeps & { registry: Registry; maxDeliver: number },
): Promise<ErasureFeed> {
  const { jsm, js, subjects, logger } = deps;
  const consumer: RunningConsumer = await startDurableConsumer({
    jsm,
    js,
    subjects,
    spec: {
      stream: subjects.streamName('erasure'),
      name: ERASURE_DONE_CONSUMER,
      filterSubject: subjects.allErasureDone(),
      ackWaitMs: 60_000,
      maxDeliver: deps.maxDeliver,
      maxAckPending: 100,
    },
    schema: ErasureDone,
    handle: (event) => coordinator.confirmed(event),
    logger,
    metrics: consumerMetrics(deps.registry),
  });
  return { stop: () => consumer.stop() };
}
