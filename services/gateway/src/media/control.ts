import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEvent, type Logger } from '@calltx/shared';

/**
 * Stream lifecycle events must not be lost to a NATS blip: retry with backoff (same Nats-Msg-Id) until stored
 * or until the caller gives up through `signal` (forced shutdown).
 */
export async function publishUntilStored(
  js: JetStreamClient,
  subject: string,
  event: { type: string },
  msgId: string,
  logger: Logger,
  signal?: AbortSignal,
): Promise<boolean> {
  let delay = 100;
  for (;;) {
    try {
      await publishEvent(js, subject, event, msgId);
      return true;
    } catch (error) {
      if (signal?.aborted) {
        logger.error({ err: error, eventType: event.type, msgId }, 'event not stored before shutdown');
        return false;
      }
      logger.warn({ err: error, eventType: event.type, retryInMs: delay }, 'event publish failed, retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(2_000, delay * 2);
    }
  }
}
