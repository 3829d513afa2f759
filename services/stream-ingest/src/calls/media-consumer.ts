import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Subjects } from '@calltx/events';

export interface MediaConsumerSpec {
  jsm: JetStreamManager;
  subjects: Subjects;
  callSid: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** The stream is replicated (NATS_STREAM_REPLICAS > 1): the consumer then keeps its state in memory. */
  replicated: boolean;
}

export const mediaConsumerName = (callSid: string) => `ingest_${callSid}`;

const notFound = (error: unknown) =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;

/**
 * (Re)creates the call's durable consumer on MEDIA, starting right after its ack floor: what the previous owner
 * stored and acknowledged is skipped, and everything after comes again strictly in stream order (attaching to
 * the old consumer would deliver new messages first and the unacknowledged ones only after ack_wait). Frames
 * acknowledged above the floor are delivered again too; finalize drops such duplicates by timestamp.
 */
export async function openMediaConsumer({
  jsm,
  subjects,
  callSid,
  ackWaitMs,
  maxAckPending,
  replicated,
}: MediaConsumerSpec): Promise<string> {
  const stream = subjects.streamName('media');
  const name = mediaConsumerName(callSid);
  let floor = 0;
  try {
    const info = await jsm.consumers.info(stream, name);
    floor = info.ack_floor.stream_seq;
    await jsm.consumers.delete(stream, name);
  } catch (error) {
    if (!notFound(error)) throw error;
  }
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    // One call, both tracks (NATS 2.9: a single filter). Unknown tracks arrive too and are counted as rejected.
    filter_subject: subjects.all('media', callSid),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
    max_ack_pending: maxAckPending,
    // In a cluster: replicated like the stream, state in memory. A restarted server then has no per-call
    // consumer log to replay and is healthy sooner, and losing one server still leaves each consumer a leader
    // (docs/deploy.md, measured by bench:consumers). A single server keeps it on disk: its restart would lose it.
    mem_storage: replicated,
    ...(floor > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: floor + 1 }
      : { deliver_policy: DeliverPolicy.All }),
  };
  await jsm.consumers.add(stream, config);
  return name;
}

/** Everything JetStream holds for the call was delivered and acknowledged. */
export async function mediaConsumerDrained(
  jsm: JetStreamManager,
  subjects: Subjects,
  callSid: string,
): Promise<boolean> {
  const info: ConsumerInfo = await jsm.consumers.info(
    subjects.streamName('media'),
    mediaConsumerName(callSid),
  );
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

export async function deleteMediaConsumer(
  jsm: JetStreamManager,
  subjects: Subjects,
  callSid: string,
): Promise<void> {
  try {
    await jsm.consumers.delete(subjects.streamName('media'), mediaConsumerName(callSid));
  } catch (error) {
    if (!notFound(error)) throw error;
  }
}
