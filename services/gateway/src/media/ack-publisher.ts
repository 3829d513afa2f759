import { createInbox, headers, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { CalltxError } from '@calltx/shared';

export class AckTimeoutError extends CalltxError {}
export class JetStreamPublishRejected extends CalltxError {}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
  deadline: number;
}

const decoder = new TextDecoder();

/**
 * JetStream publish with acknowledgement, for the media hot path. It does what `js.publish` does — a core
 * publish with a reply subject that JetStream answers with a PubAck — but through one reply subscription and
 * one timeout sweep for all messages, instead of a request, two pre-built errors with stack traces and a timer
 * per message. The gateway benchmark (docs/benchmarks.md) measured the difference.
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
        const ack = JSON.parse(decoder.decode(msg.data)) as { error?: { code: number; description: string } };
        if (ack.error)
          waiter.reject(
            new JetStreamPublishRejected(`JetStream refused the message: ${ack.error.description}`, {
              retryable: true,
            }),
          );
        else waiter.resolve();
      },
    });
    this.sweep = setInterval(() => this.expire(), Math.max(50, Math.floor(timeoutMs / 10)));
    this.sweep.unref();
  }

  /** Resolves when JetStream has stored the message (or recognised it as a duplicate of `msgId`). */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    const id = this.nextId++;
    const h = headers();
    h.set('Nats-Msg-Id', msgId);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${id}`, headers: h });
      } catch (cause) {
        this.pending.delete(id);
        reject(new JetStreamPublishRejected('publish failed', { cause, retryable: true }));
      }
    });
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
      waiter.reject(
        new AckTimeoutError(`no JetStream acknowledgement within ${this.timeoutMs} ms`, { retryable: true }),
      );
    }
  }
}
