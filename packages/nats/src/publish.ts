import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { CalltxError, encodeEvent } from '@calltx/events';

export class PublishError extends CalltxError {}

/**
 * Publishes one event and waits for JetStream to store it. `msgId` (the event's natural id) makes retries and
 * redeliveries collapse into one stored message within the stream's duplicate window.
 */
export async function publishEvent(
  js: JetStreamClient,
  subject: string,
  event: { type: string },
  msgId: string,
  timeoutMs = 5_000,
): Promise<PubAck> {
  try {
    return await js.publish(subject, encodeEvent(event), { msgID: msgId, timeout: timeoutMs });
  } catch (cause) {
    throw new PublishError(`could not publish ${event.type} to JetStream`, { cause, retryable: true });
  }
}
