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
import { backoffDelayMs, type RetryPolicy } from '@calltx/retry';
import type { z } from 'zod';
import { ConfigError } from '@calltx/config';
import type { Logger } from 'pino';
import { CalltxError, decodeEvent, InvalidMessageError } from '@calltx/events';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { DeadLetters, type DeadLetterReason } from './dead-letters.js';
import type { Subjects } from '@calltx/events';
import { whileJetStreamUnavailable } from './availability.js';
import { JETSTREAM_RETRY } from './retry-policy.js';

export interface DurableConsumerSpec {
  stream: string;
  name: string;
  filterSubject: string;
  ackWaitMs: number;
  /** Deliveries before a message that keeps failing is dead-lettered; never unbounded. */
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
  if (!Number.isInteger(spec.maxDeliver) || spec.maxDeliver < 1)
    throw new ConfigError([
      `consumer ${spec.name}: maxDeliver must be a positive integer (no message is retried forever)`,
    ]);
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
  subjects: Subjects;
  stream: string;
  consumer: string;
  /** The consumer's `maxDeliver`: the delivery on which a still-failing message is dead-lettered. */
  maxDeliver: number;
  schema: S;
  handle: (event: z.output<S>, msg: JsMsg) => Promise<void>;
  logger: Logger;
  metrics: ConsumerMetrics;
  /** Handlers running at once. */
  concurrency?: number;
  /** Redelivery delay after a retryable failure, by delivery attempt. Default `JETSTREAM_RETRY`. */
  redelivery?: RetryPolicy;
}

export interface StartDurableConsumerOptions<S extends z.ZodType> extends Omit<
  RunConsumerOptions<S>,
  'stream' | 'consumer' | 'maxDeliver'
> {
  jsm: JetStreamManager;
  spec: DurableConsumerSpec;
}

/**
 * How a service consumes a stream: creates or updates the durable consumer `spec` describes (waiting out an
 * election), then runs it with the same stream, name and `maxDeliver`, so the two can never disagree.
 */
export async function startDurableConsumer<S extends z.ZodType>(
  options: StartDurableConsumerOptions<S>,
): Promise<RunningConsumer> {
  const { jsm, spec, ...run } = options;
  await ensureDurableConsumer(jsm, spec, run.logger);
  return runConsumer({ ...run, stream: spec.stream, consumer: spec.name, maxDeliver: spec.maxDeliver });
}

export interface RunningConsumer {
  /** Stops fetching, waits for handlers in flight, then resolves. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

export interface SettleOptions<S extends z.ZodType> {
  consumer: string;
  /** The consumer's `maxDeliver`: the delivery on which a still-failing message is dead-lettered. */
  maxDeliver: number;
  deadLetters: DeadLetters;
  schema: S;
  handle: (event: z.output<S>, msg: JsMsg) => Promise<void>;
  logger: Logger;
  metrics: ConsumerMetrics;
  /** Nak delay after a retryable failure, by delivery attempt (deliveries are bounded by `maxDeliver`). */
  redelivery: RetryPolicy;
  /** Errors that hand the message back at once (e.g. this replica is stopping), counted as requeued. */
  requeueOn?: (error: unknown) => boolean;
}

/**
 * Validates, handles and settles one message: ack on success; nak with backoff for a retryable failure while
 * deliveries remain. A message no retry can fix (invalid, failed for good, or out of deliveries) is copied to the
 * DEADLETTER stream with the reason, then terminated; if the copy can't be stored it is redelivered instead, so
 * nothing is dropped unseen. Every outcome is counted and logged.
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
    const attempt = msg.info.deliveryCount;
    const context = { err: error, subject: msg.subject, seq: msg.seq, attempt };
    const reason = deadLetterReason(error, attempt, options.maxDeliver);
    if (options.requeueOn?.(error)) {
      msg.nak();
      metrics.messages.inc({ consumer: name, outcome: 'requeued' });
    } else if (reason === undefined) {
      msg.nak(backoffDelayMs(options.redelivery, attempt));
      metrics.messages.inc({ consumer: name, outcome: 'retried' });
      logger.warn(context, 'handler failed, will retry');
    } else {
      try {
        await options.deadLetters.keep(msg, { consumer: name, reason, error });
      } catch (deadLetterError) {
        msg.nak(backoffDelayMs(options.redelivery, attempt));
        metrics.messages.inc({ consumer: name, outcome: 'retried' });
        logger.error(
          { ...context, err: deadLetterError, handlerError: context.err, reason },
          'dead letter not stored, message will be redelivered',
        );
        return;
      }
      msg.term();
      metrics.messages.inc({ consumer: name, outcome: OUTCOMES[reason] });
      metrics.deadLetters.inc({ consumer: name, reason });
      const issues = error instanceof InvalidMessageError ? error.issues : undefined;
      logger.error({ ...context, reason, issues }, 'message dead-lettered and terminated');
    }
  } finally {
    stopTimer();
  }
}

const OUTCOMES: Record<DeadLetterReason, string> = {
  invalid: 'invalid',
  failed: 'failed',
  'max-deliveries': 'exhausted',
  stranded: 'stranded',
};

/** Undefined while retrying may still help. Errors that aren't CalltxErrors are taken as retryable. */
function deadLetterReason(error: unknown, attempt: number, maxDeliver: number): DeadLetterReason | undefined {
  if (error instanceof InvalidMessageError) return 'invalid';
  if (error instanceof CalltxError && !error.retryable) return 'failed';
  return attempt >= maxDeliver ? 'max-deliveries' : undefined;
}

/**
 * Pulls from a durable consumer and hands each validated event to `handle`, settling each as `settleMessage`
 * says: retried with backoff while that may help, dead-lettered and terminated otherwise. The loop itself never
 * dies of a bad message.
 */
export async function runConsumer<S extends z.ZodType>(
  options: RunConsumerOptions<S>,
): Promise<RunningConsumer> {
  const { js, stream, consumer: name, maxDeliver, schema, handle, logger, metrics } = options;
  const deadLetters = new DeadLetters(js, options.subjects);
  const concurrency = options.concurrency ?? 1;
  const redelivery = options.redelivery ?? JETSTREAM_RETRY;
  const consumer = await whileJetStreamUnavailable(`consumer ${name}`, () => js.consumers.get(stream, name), {
    logger,
  });
  const messages = await consumer.consume({ max_messages: Math.max(2, concurrency * 2) });
  const inFlight = new Set<Promise<void>>();

  const process = (msg: JsMsg) =>
    settleMessage(msg, {
      consumer: name,
      maxDeliver,
      deadLetters,
      schema,
      handle,
      logger,
      metrics,
      redelivery,
    });

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
