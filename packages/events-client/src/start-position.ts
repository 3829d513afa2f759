import { DeliverPolicy, type JetStreamManager, type OrderedConsumerOptions } from '@nats-io/jetstream';

/**
 * Where a subscription starts in the stream:
 * - `'new'`: only events stored from now on (live);
 * - `'start'`: every event the stream still holds (30 days for the public families);
 * - a `Date`: the first event stored at or after that time;
 * - `{ afterSequence }`: the event after that stream sequence — how a consumer resumes where it stopped.
 */
export type StartAt = 'new' | 'start' | Date | { afterSequence: number };

export interface ResolvedStart {
  options: Partial<OrderedConsumerOptions>;
  /** Events stored before this time are skipped (see resolveStart). */
  notBefore?: Date;
}

/**
 * Turns a start position into ordered-consumer options. "New" becomes an explicit start sequence (the stream's
 * last sequence + 1): with DeliverPolicy.New, an ordered consumer that resets before its first message would
 * recreate itself from sequence 1 and replay the whole stream. A start time has the same weakness, so
 * deliveries are also filtered by time on the client.
 */
export async function resolveStart(
  jsm: JetStreamManager,
  stream: string,
  startAt: StartAt,
): Promise<ResolvedStart> {
  if (startAt === 'start') return { options: { deliver_policy: DeliverPolicy.All } };
  if (startAt === 'new') {
    const info = await jsm.streams.info(stream);
    return { options: { opt_start_seq: info.state.last_seq + 1 } };
  }
  if (startAt instanceof Date) {
    if (Number.isNaN(startAt.getTime())) throw new RangeError('start time is not a valid date');
    return { options: { opt_start_time: startAt.toISOString() }, notBefore: startAt };
  }
  const { afterSequence } = startAt;
  if (!Number.isSafeInteger(afterSequence) || afterSequence < 0) {
    throw new RangeError(`afterSequence must be a non-negative integer (got ${afterSequence})`);
  }
  return { options: { opt_start_seq: afterSequence + 1 } };
}
