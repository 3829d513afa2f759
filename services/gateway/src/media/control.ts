import type { JetStreamClient } from '@nats-io/jetstream';
import { retry, type RetryPolicy } from '@calltx/retry';
import { publishEvent } from '@calltx/nats';
import { type Logger } from '@calltx/runtime';

/** Every failure is retried: shutdown's force timer, not a count, bounds the wait when NATS stays away. */
const LIFECYCLE_PUBLISH_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 100, capMs: 2_000, jitter: 0 };

/**
 * Stream lifecycle events must not be lost to a NATS blip: retry with backoff (same Nats-Msg-Id) until stored.
 */
export async function publishUntilStored(
  js: JetStreamClient,
  subject: string,
  event: { type: string },
  msgId: string,
  logger: Logger,
): Promise<void> {
  await retry(() => publishEvent(js, subject, event, msgId), LIFECYCLE_PUBLISH_RETRY, {
    retryable: () => true,
    onRetry: ({ error, delayMs }) =>
      logger.warn(
        { err: error, eventType: event.type, retryInMs: delayMs },
        'event publish failed, retrying',
      ),
  });
}
