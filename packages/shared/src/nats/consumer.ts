import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { z } from 'zod';
import { CalltxError, InvalidMessageError } from '../errors/index.js';
import { decodeEvent } from '../events/codec.js';
import type { Logger } from '../log/index.js';
import type { ConsumerMetrics } from '../metrics/index.js';
import { whileJetStreamUnavailable } from './availability.js';
import { defaultRetryDelay } from './retry-delay.js';

export interface DurableConsumerSpec {
  stream: string;
  name: string;
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
}

/**
 * Creates or updates a durable pull consumer: every replica of a service shares it. Waits while JetStream is
 * unavailable (a leader election).
 */
export async function ensureDurableConsumer(
  jsm: JetStreamManager,
  spec: DurableConsumerSpec,
  logger: Logger,
): Promise<void> {
  await whileJetStreamUnavailable(`consumer ${spec.name}`, () => createOrUpdate(jsm, spec), { logger });
}

async function createOrUpdate(jsm: JetStreamManager, spec: DurableConsumerSpec): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.name,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    max_ack_pending: spec.maxAckPending,
  };
  try {
    await jsm.consumers.info(spec.stream, spec.name);
    await jsm.consumers.update(spec.stream, spec.name, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.ConsumerNotFound)
      throw error;
    await jsm.consumers.add(spec.stream, config);
  }
}

export interface RunConsumerOptions<S extends z.ZodType> {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  schema: S;
  handle: (event: z.output<S>, msg: JsMsg) => Promise<void>;
  logger: Logger;
  metrics: ConsumerMetrics;
  /** Handlers running at once. */
  concurrency?: number;
  /** Redelivery delay after a retryable failure, by delivery attempt. */
  retryDelayMs?: (attempt: number) => number;
}

export interface RunningConsumer {
  /** Stops fetching, waits for handlers in flight, then resolves. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

export interface SettleOptions<S extends z.ZodType> {
  consumer: string;
  schema: S;
  handle: (event: z.output<S>, msg: JsMsg) => Promise<void>;
  logger: Logger;
  metrics: ConsumerMetrics;
  retryDelay: (attempt: number) => number;
  /** Errors that hand the message back at once (e.g. this replica is stopping), counted as requeued. */
  requeueOn?: (error: unknown) => boolean;
}

/**
 * Validates, handles and settles one message: ack on success; term for an invalid message (the same bytes can't
 * succeed) or a permanent failure; nak with backoff for a retryable one. Every outcome is counted and logged.
 * `term()` carries no reason: NATS servers before 2.10.4 ignore "+TERM <reason>" and redeliver the message.
 */
export async function settleMessage<S extends z.ZodType>(
  msg: JsMsg,
  options: SettleOptions<S>,
): Promise<void> {
  const { consumer: name, schema, handle, logger, metrics } = options;
  const stopTimer = metrics.seconds.startTimer({ consumer: name });
  try {
    const event = decodeEvent(schema, msg.data, `message on ${msg.subject}`);
    await handle(event, msg);
    msg.ack();
    metrics.messages.inc({ consumer: name, outcome: 'ok' });
  } catch (error) {
    if (options.requeueOn?.(error)) {
      msg.nak();
      metrics.messages.inc({ consumer: name, outcome: 'requeued' });
    } else if (error instanceof InvalidMessageError) {
      msg.term();
      metrics.messages.inc({ consumer: name, outcome: 'invalid' });
      logger.warn({ subject: msg.subject, seq: msg.seq, issues: error.issues }, 'invalid message terminated');
    } else if (!(error instanceof CalltxError) || error.retryable) {
      msg.nak(options.retryDelay(msg.info.deliveryCount));
      metrics.messages.inc({ consumer: name, outcome: 'retried' });
      logger.warn(
        { err: error, subject: msg.subject, seq: msg.seq, attempt: msg.info.deliveryCount },
        'handler failed, will retry',
      );
    } else {
      msg.term();
      metrics.messages.inc({ consumer: name, outcome: 'failed' });
      logger.error(
        { err: error, subject: msg.subject, seq: msg.seq },
        'handler failed permanently, message terminated',
      );
    }
  } finally {
    stopTimer();
  }
}

/**
 * Pulls from a durable consumer and hands each validated event to `handle`. Invalid messages are terminated
 * (redelivering the same bytes can't help), logged and counted; failures are retried with backoff when
 * retryable and terminated otherwise. The loop itself never dies of a bad message.
 */
export async function runConsumer<S extends z.ZodType>(
  options: RunConsumerOptions<S>,
): Promise<RunningConsumer> {
  const { js, stream, consumer: name, schema, handle, logger, metrics } = options;
  const concurrency = options.concurrency ?? 1;
  const retryDelay = options.retryDelayMs ?? defaultRetryDelay;
  const consumer = await whileJetStreamUnavailable(`consumer ${name}`, () => js.consumers.get(stream, name), {
    logger,
  });
  const messages = await consumer.consume({ max_messages: Math.max(2, concurrency * 2) });
  const inFlight = new Set<Promise<void>>();

  const process = (msg: JsMsg) =>
    settleMessage(msg, { consumer: name, schema, handle, logger, metrics, retryDelay });

  const done = (async () => {
    for await (const msg of messages) {
      const task = process(msg).finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();

  return {
    done,
    async stop() {
      await messages.close();
      await done;
    },
  };
}
