import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { z } from 'zod';
import { backoffDelayMs, type RetryPolicy } from '@calltx/retry';
import { DeadLetters, JETSTREAM_RETRY, settleMessage, type ConsumerMetrics } from '@calltx/nats';
import { type Logger } from '@calltx/runtime';
import { type Subjects } from '@calltx/events';
import { SlotsClosedError } from './slots.js';

export interface PullerOptions<S extends z.ZodType> {
  js: JetStreamClient;
  subjects: Subjects;
  stream: string;
  consumer: string;
  /** The consumer's `maxDeliver`: the delivery on which a still-failing message is dead-lettered. */
  maxDeliver: number;
  schema: S;
  /** Messages this replica holds at once (being handled or waiting for a work slot). */
  capacity: number;
  /** How often held messages are marked in progress, so JetStream only redelivers a silent replica's. */
  heartbeatMs: number;
  /** Resolving acknowledges the message; throwing follows the retry policy below. */
  handle: (event: z.output<S>, msg: JsMsg) => Promise<void>;
  logger: Logger;
  metrics: ConsumerMetrics;
}

const FETCH_EXPIRES_MS = 5_000;
/**
 * A puller that has neither received a message nor ended a fetch for this long says so, once, with what it waits on
 * (a fetch still open long past its expiry, or no room because held messages have not settled): the cluster fault
 * variant saw pullers go quiet after node restarts without failing (docs/reliability.md).
 */
const QUIET_WARN_MS = 6 * FETCH_EXPIRES_MS;
/** Waits between failed fetches (the consumer looked up again each time); retried for as long as the puller runs. */
const FETCH_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 250, capMs: 5_000, jitter: 0 };

/**
 * Pulls from one durable consumer, never holding more than `capacity` messages, and hands each validated
 * event to `handle`. Unlike a plain consume loop it fetches only when it has room, so messages it cannot
 * start soon stay on the server for other replicas. Messages are settled by `settleMessage` (retried with backoff
 * while that may help, dead-lettered otherwise); work refused at shutdown goes straight back to the queue.
 */
export class Puller<S extends z.ZodType> {
  private readonly held = new Set<JsMsg>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly roomWaiters: Array<() => void> = [];
  private batch: ConsumerMessages | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** When the puller last received a message or ended a fetch, and when the open fetch (if any) began. */
  private lastProgressAt = Date.now();
  private fetchStartedAt: number | undefined;
  private quietReported = false;

  private readonly deadLetters: DeadLetters;

  constructor(private readonly options: PullerOptions<S>) {
    this.deadLetters = new DeadLetters(options.js, options.subjects);
  }

  start(): void {
    this.loop ??= this.run();
    this.heartbeat = setInterval(() => {
      for (const msg of this.held) msg.working();
      this.reportIfQuiet();
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Stops fetching; messages already held are still handled (see `settled`). */
  halt(): void {
    this.stopping = true;
    this.batch?.stop();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Resolves once the fetch loop has ended and every held message is settled. */
  async settled(): Promise<void> {
    await this.loop;
    await Promise.all(this.tasks);
    clearInterval(this.heartbeat);
  }

  private async run(): Promise<void> {
    const { js, stream, consumer: name, capacity, logger } = this.options;
    let failures = 0;
    let consumer: Consumer | undefined;
    while (!this.stopping) {
      await this.room();
      if (this.stopping) break;
      try {
        consumer ??= await js.consumers.get(stream, name);
        this.fetchStartedAt = Date.now();
        this.batch = await consumer.fetch({
          max_messages: capacity - this.held.size,
          expires: FETCH_EXPIRES_MS,
        });
        if (this.stopping) this.batch.stop(); // halted while the request was being made
        for await (const msg of this.batch) this.dispatch(msg);
        failures = 0;
      } catch (error) {
        if (this.stopping) break;
        consumer = undefined; // looked up again: it may have been recreated
        failures++;
        logger.warn({ err: error, consumer: name, failures }, 'fetch from consumer failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(FETCH_RETRY, failures)));
      } finally {
        this.batch = undefined;
        this.fetchStartedAt = undefined;
        this.progressed();
      }
    }
  }

  private room(): Promise<void> {
    if (this.held.size < this.options.capacity) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private progressed(): void {
    this.lastProgressAt = Date.now();
    this.quietReported = false;
  }

  private reportIfQuiet(): void {
    const quietMs = Date.now() - this.lastProgressAt;
    if (this.stopping || this.quietReported || quietMs < QUIET_WARN_MS) return;
    this.quietReported = true;
    this.options.logger.warn(
      {
        consumer: this.options.consumer,
        quietMs,
        held: this.held.size,
        capacity: this.options.capacity,
        fetchOpenMs: this.fetchStartedAt === undefined ? null : Date.now() - this.fetchStartedAt,
      },
      'puller quiet: no message and no fetch ended',
    );
  }

  private dispatch(msg: JsMsg): void {
    this.progressed();
    this.held.add(msg);
    const task = this.settle(msg).finally(() => {
      this.held.delete(msg);
      this.tasks.delete(task);
      this.roomWaiters.shift()?.();
    });
    this.tasks.add(task);
  }

  private async settle(msg: JsMsg): Promise<void> {
    const { consumer: name, schema, handle, logger, metrics } = this.options;
    if (msg.info.redelivered) {
      logger.info(
        { consumer: name, subject: msg.subject, seq: msg.seq, attempt: msg.info.deliveryCount },
        'redelivered message',
      );
    }
    await settleMessage(msg, {
      consumer: name,
      maxDeliver: this.options.maxDeliver,
      deadLetters: this.deadLetters,
      schema,
      handle,
      logger,
      metrics,
      redelivery: JETSTREAM_RETRY,
      requeueOn: (error) => error instanceof SlotsClosedError,
    });
  }
}
