import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEvent } from '@calltx/nats';
import { type Logger } from '@calltx/runtime';

/**
 * Stream lifecycle events must not be lost to a NATS blip: retry with backoff (same Nats-Msg-Id) until stored.
 * Shutdown's force timer bounds the wait when NATS stays away.
 */
export async function publishUntilStored(
  js: JetStreamClient,
  subject: string,
  event: { type: string },
  msgId: string,
  logger: Logger,
): Promise<void> {
  let delay = 100;
  for (;;) {
    try {
      await publishEvent(js, subject, event, msgId);
      return;
    } catch (error) {
      logger.warn({ err: error, eventType: event.type, retryInMs: delay }, 'event publish failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(2_000, delay * 2);
    }
  }
}
