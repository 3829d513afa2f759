import { createInbox, headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { CalltxError } from '@calltx/events';

export class AckTimeoutError extends CalltxError {}
export class JetStreamPublishRejected extends CalltxError {}

/** Called once per message: without an error when JetStream stored it. */
export type AckCallback = (error?: Error) => void;

interface Pending {
  done: AckCallback;
  deadline: number;
}

const decoder = new TextDecoder();

/**
 * JetStream publish with acknowledgement, for the media hot path. It does what `js.publish` does — a core
 * publish with a reply subject that JetStream answers with a PubAck — but through one reply subscription and
 * one timeout sweep for all messages, instead of a request, two pre-built errors with stack traces and a timer
 * per message; and it answers through a callback, not a promise per message. The gateway benchmark
 * (docs/benchmarks.md) measured the difference.
 */
export class AckPublisher {
  private readonly inbox = createInbox();
  private readonly pending = new Map<number, Pending>();
  private readonly subscription: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private nextId = 1;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.subscription = nc.subscribe(`${this.inbox}.*`, {
      callback: (error, msg) => {
        if (error) return;
        const id = Number(msg.subject.slice(this.inbox.length + 1));
        const waiter = this.pending.get(id);
        if (!waiter) return;
        this.pending.delete(id);
        waiter.done(rejection(decoder.decode(msg.data)));
      },
    });
    this.sweep = setInterval(() => this.expire(), Math.max(50, Math.floor(timeoutMs / 10)));
    this.sweep.unref();
  }

  /** `done` is called when JetStream has stored the message (or recognised it as a duplicate of `msgId`). */
  publish(subject: string, data: Uint8Array, msgId: string, done: AckCallback): void {
    const id = this.nextId++;
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    this.pending.set(id, { done, deadline: Date.now() + this.timeoutMs });
    try {
      this.nc.publish(subject, data, { reply: `${this.inbox}.${id}`, headers: h });
    } catch (cause) {
      this.pending.delete(id);
      done(new JetStreamPublishRejected('publish failed', { cause, retryable: true }));
    }
  }

  close(): void {
    clearInterval(this.sweep);
    this.subscription.unsubscribe();
    this.expire(Infinity);
  }

  private expire(now = Date.now()): void {
    for (const [id, waiter] of this.pending) {
      if (waiter.deadline > now) continue;
      this.pending.delete(id);
      waiter.done(
        new AckTimeoutError(`no JetStream acknowledgement within ${this.timeoutMs} ms`, { retryable: true }),
      );
    }
  }
}

/**
 * A PubAck is `{"stream":…,"seq":…}`; anything else is a refusal: an `error` object, or an empty status
 * message (503, no stream listens on the subject). Only the rare refusal is parsed.
 */
function rejection(reply: string): Error | undefined {
  if (reply.startsWith('{"stream":') && !reply.includes('"error"')) return undefined;
  let description = 'no JetStream stream answered';
  try {
    const ack = JSON.parse(reply) as { error?: { description?: string } };
    if (!ack.error) return undefined;
    description = ack.error.description ?? 'unknown error';
  } catch {
    // an empty status message, or not JSON at all
  }
  return new JetStreamPublishRejected(`JetStream refused the message: ${description}`, { retryable: true });
}
