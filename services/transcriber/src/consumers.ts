import type { DurableConsumerSpec } from '@calltx/nats';
import type { Subjects } from '@calltx/events';

export const CONSUMER_NAMES = {
  final: 'transcriber-final',
  partial: 'transcriber-partial',
  recording: 'transcriber-recording',
  calls: 'transcriber-calls',
} as const;

export type ConsumerKind = keyof typeof CONSUMER_NAMES;

/**
 * The durable pull consumers every replica shares: live finals, live partials, recording jobs, and calls.v1
 * `started` events (each call's language and hints, kept in the transcriber's own table). The autoscaler watches
 * the lag of transcriber-final. A final is redelivered (with backoff) until it is published, up to `finalMaxDeliver`
 * deliveries, then dead-lettered; a partial, worthless once late, is tried 3 times.
 */
export function consumerSpecs(
  subjects: Subjects,
  ackWaitMs: number,
  finalMaxDeliver: number,
): Record<ConsumerKind, DurableConsumerSpec> {
  const audio = subjects.streamName('audio');
  return {
    final: {
      stream: audio,
      name: CONSUMER_NAMES.final,
      filterSubject: subjects.allAudio('final'),
      ackWaitMs,
      maxDeliver: finalMaxDeliver,
      maxAckPending: 1_000,
    },
    partial: {
      stream: audio,
      name: CONSUMER_NAMES.partial,
      filterSubject: subjects.allAudio('partial'),
      ackWaitMs,
      maxDeliver: 3,
      maxAckPending: 1_000,
    },
    recording: {
      stream: subjects.streamName('transcribe'),
      name: CONSUMER_NAMES.recording,
      filterSubject: subjects.all('transcribe'),
      ackWaitMs,
      maxDeliver: 10,
      maxAckPending: 100,
    },
    calls: {
      stream: subjects.streamName('calls'),
      name: CONSUMER_NAMES.calls,
      filterSubject: subjects.allCalls('started'),
      ackWaitMs,
      maxDeliver: finalMaxDeliver,
      maxAckPending: 1_000,
    },
  };
}
