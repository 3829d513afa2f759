import {
  JetStreamApiCodes,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { z } from 'zod';
import { InvalidMessageError, decodeEvent } from '@calltx/events';
import { EventsClientError } from './errors.js';
import { resolveStart, type StartAt } from './start-position.js';

export interface Delivery<E> {
  event: E;
  /**
   * The event's JetStream stream sequence: increasing in stream order, unique within the stream. Pass it back as
   * `{ afterSequence }` to resume right after this event.
   */
  sequence: number;
  subject: string;
  /** When JetStream stored the event. */
  storedAt: Date;
}

/** A stored message that does not match its schema: skipped, never delivered. */
export interface InvalidDelivery {
  sequence: number;
  subject: string;
  issues: readonly string[];
}

export interface Subscription<E> extends AsyncIterable<Delivery<E>> {
  /** The stream and subject filter this subscription reads. */
  readonly stream: string;
  readonly filterSubject: string;
  /** Stops delivery and deletes the server-side consumer; the iteration then ends. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenSubscriptionOptions<S extends z.ZodType> {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** One subject (wildcards allowed): NATS 2.9 consumers take a single filter. */
  filterSubject: string;
  schema: S;
  startAt: StartAt;
  onInvalid?: (invalid: InvalidDelivery) => void;
  /** Messages the server may push ahead of the reader (memory bound). */
  maxBuffered?: number;
}

/**
 * One ordered consumer on one subject filter: in stream order, without gaps or duplicates. The client recreates
 * it from the last delivered sequence after a disconnect or missed heartbeats, so a NATS restart only pauses the
 * iteration. Nothing is acknowledged and nothing is kept on the server after close() (the consumer is in memory
 * and deleted; a crashed client's consumer expires after 5 minutes of inactivity).
 */
export async function openSubscription<S extends z.ZodType>(
  options: OpenSubscriptionOptions<S>,
): Promise<Subscription<z.output<S>>> {
  const { js, jsm, stream, filterSubject, schema, onInvalid } = options;
  const start = await withStreamCheck(stream, () => resolveStart(jsm, stream, options.startAt));
  const consumer = await withStreamCheck(stream, () =>
    js.consumers.get(stream, { ...start.options, filter_subjects: filterSubject }),
  );
  const messages: ConsumerMessages = await consumer.consume({ max_messages: options.maxBuffered ?? 256 });
  let closing: Promise<void> | undefined;
  // stop(), not close(): close() waits until the reader has drained the queue, and a reader may never come back.
  const close = () =>
    (closing ??= (async () => {
      messages.stop();
      await consumer.delete().catch(() => undefined);
    })());

  async function* deliveries(): AsyncGenerator<Delivery<z.output<S>>> {
    try {
      for await (const msg of messages) {
        if (start.notBefore && msg.time.getTime() < start.notBefore.getTime()) continue;
        let event: z.output<S>;
        try {
          event = decodeEvent(schema, msg.data, `message on ${msg.subject}`);
        } catch (error) {
          if (!(error instanceof InvalidMessageError)) throw error;
          onInvalid?.({ sequence: msg.seq, subject: msg.subject, issues: error.issues });
          continue;
        }
        yield { event, sequence: msg.seq, subject: msg.subject, storedAt: msg.time };
      }
    } finally {
      await close();
    }
  }

  let iterated = false;
  return {
    stream,
    filterSubject,
    close,
    [Symbol.asyncIterator]() {
      if (iterated) throw new EventsClientError('a subscription can be iterated once');
      iterated = true;
      return deliveries();
    },
  };
}

async function withStreamCheck<T>(stream: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof RangeError) throw cause;
    const code = (cause as { code?: number }).code;
    if (
      code === JetStreamApiCodes.StreamNotFound ||
      (cause instanceof Error && /stream not found/i.test(cause.message))
    ) {
      throw new EventsClientError(`stream ${stream} does not exist`, { cause, retryable: true });
    }
    throw new EventsClientError(`could not subscribe to stream ${stream}`, { cause, retryable: true });
  }
}
