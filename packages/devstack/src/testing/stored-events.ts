import type { JetStreamClient } from '@nats-io/jetstream';

/** Every message a stream holds on `filter`, decoded as JSON, in stream order (an ephemeral ordered consumer). */
export async function storedEvents(
  js: JetStreamClient,
  stream: string,
  filter: string,
): Promise<Array<Record<string, unknown>>> {
  const consumer = await js.consumers.get(stream, { filter_subjects: filter });
  const out: Array<Record<string, unknown>> = [];
  if ((await consumer.info()).num_pending === 0) return out;
  for (;;) {
    const msg = await consumer.next({ expires: 2_000 });
    if (!msg) break;
    out.push(msg.json<Record<string, unknown>>());
    if (msg.info.pending === 0) break;
  }
  return out;
}
