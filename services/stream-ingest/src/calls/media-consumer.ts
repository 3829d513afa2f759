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
  /** This owner's generation (CallsRepo.nextMediaConsumerGeneration): every earlier one is replaced. */
  generation: number;
}

/**
 * The call's consumer of generation `generation`. Each owner creates a consumer under a new name instead of
 * deleting and creating one name again: a NATS 2.9.10 server restarted after such a delete and create restores
 * the deleted consumer's replica and stays unhealthy until the consumer is deleted (docs/reliability.md).
 * Generation 0 is the name before generations.
 */
export const mediaConsumerName = (callSid: string, generation: number) =>
  generation === 0 ? `ingest_${callSid}` : `ingest_${callSid}_${generation}`;

/** Whether `name` is one of the call's consumers, of any generation. */
export const isMediaConsumerOf = (name: string, callSid: string) =>
  name === `ingest_${callSid}` || name.startsWith(`ingest_${callSid}_`);

const notFound = (error: unknown) =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound;

/**
 * Creates the call's durable consumer on MEDIA for this owner's generation, starting right after the ack floor of
 * the previous owner's consumer, which it then deletes: what that owner stored and acknowledged is skipped, and
 * everything after comes again strictly in stream order (attaching to the old consumer would deliver new messages
 * first and the unacknowledged ones only after ack_wait). Frames acknowledged above the floor are delivered again
 * too; finalize drops such duplicates by timestamp. Every earlier generation is looked for, not only the last: an
 * owner may have died between taking its generation and creating its consumer. The earlier ones are deleted only
 * once the new one exists, so a creation that fails leaves the floor for the next attempt.
 */
export async function openMediaConsumer({
  jsm,
  subjects,
  callSid,
  ackWaitMs,
  maxAckPending,
  replicated,
  generation,
}: MediaConsumerSpec): Promise<string> {
  const stream = subjects.streamName('media');
  let floor = 0;
  const earlierConsumers: string[] = [];
  for (let earlier = generation - 1; earlier >= 0; earlier -= 1) {
    try {
      const info = await jsm.consumers.info(stream, mediaConsumerName(callSid, earlier));
      floor = Math.max(floor, info.ack_floor.stream_seq);
      earlierConsumers.push(info.name);
    } catch (error) {
      if (!notFound(error)) throw error;
    }
  }
  const name = mediaConsumerName(callSid, generation);
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
  for (const earlier of earlierConsumers) await deleteIfPresent(jsm, stream, earlier);
  return name;
}

/** Everything JetStream holds for the call was delivered and acknowledged. */
export async function mediaConsumerDrained(
  jsm: JetStreamManager,
  subjects: Subjects,
  name: string,
): Promise<boolean> {
  const info: ConsumerInfo = await jsm.consumers.info(subjects.streamName('media'), name);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Deletes the call's consumers of every generation up to `generation`. */
export async function deleteMediaConsumers(
  jsm: JetStreamManager,
  subjects: Subjects,
  callSid: string,
  generation: number,
): Promise<void> {
  for (let g = generation; g >= 0; g -= 1)
    await deleteIfPresent(jsm, subjects.streamName('media'), mediaConsumerName(callSid, g));
}

async function deleteIfPresent(jsm: JetStreamManager, stream: string, name: string): Promise<void> {
  try {
    await jsm.consumers.delete(stream, name);
  } catch (error) {
    if (!notFound(error)) throw error;
  }
}

/**
 * Removes the call's frames from MEDIA (AUDIO_REDACT): once its WAVs are written they are the only copy left, so
 * the unredacted audio does not outlive them there for the stream's 3 days.
 */
export async function purgeCallMedia(
  jsm: JetStreamManager,
  subjects: Subjects,
  callSid: string,
): Promise<number> {
  const { purged } = await jsm.streams.purge(subjects.streamName('media'), {
    filter: subjects.all('media', callSid),
  });
  return purged;
}
