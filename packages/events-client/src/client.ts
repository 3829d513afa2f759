import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import {
  CALL_SID_PATTERN,
  CallEvent,
  FAMILIES,
  RecordingEvent,
  Subjects,
  TranscriptEvent,
  type TranscriptKind,
} from '@calltx/events';
import type { StartAt } from './start-position.js';
import { openSubscription, type InvalidDelivery, type Subscription } from './subscription.js';

export interface EventsClientOptions {
  /** The deployment's NATS_SUBJECT_PREFIX: empty (the default) in production. */
  subjectPrefix?: string;
  /** Told about stored messages that fail validation (they are skipped). */
  onInvalid?: (invalid: InvalidDelivery) => void;
}

export interface CallFilter {
  /** One call (CA + 32 hex digits); all calls when omitted. */
  callSid?: string;
  /** Default `'new'`: live events only. */
  startAt?: StartAt;
}

export interface TranscriptFilter extends CallFilter {
  /** Only partials or only finals; both when omitted. */
  kind?: TranscriptKind;
}

/**
 * Subscribes to the public event families: `transcripts.v1`, `calls.v1` and `recordings.v1`. Every delivery is
 * validated against the schemas the services publish with; each subscription is one JetStream ordered consumer.
 */
export class EventsClient {
  readonly subjects: Subjects;
  private readonly js;
  private jsm: Promise<JetStreamManager> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: EventsClientOptions = {},
  ) {
    this.subjects = new Subjects(options.subjectPrefix ?? '');
    this.js = jetstream(nc);
  }

  /** Transcript events (`transcript.partial.v1`, `transcript.final.v1`), in the order they were stored. */
  transcripts(filter: TranscriptFilter = {}): Promise<Subscription<TranscriptEvent>> {
    return this.open('transcripts', transcriptFilterSubject(this.subjects, filter), TranscriptEvent, filter);
  }

  /** Call lifecycle events (`call.started.v1`, `call.ended.v1`, …). They carry personal data (numbers). */
  callEvents(filter: CallFilter = {}): Promise<Subscription<CallEvent>> {
    return this.open('calls', this.subjects.all('calls', checkedCallSid(filter.callSid)), CallEvent, filter);
  }

  /** Recording events (`recording.status.v1`, `recording.stored.v1`). */
  recordingEvents(filter: CallFilter = {}): Promise<Subscription<RecordingEvent>> {
    return this.open(
      'recordings',
      this.subjects.all('recordings', checkedCallSid(filter.callSid)),
      RecordingEvent,
      filter,
    );
  }

  private async open<E>(
    family: 'transcripts' | 'calls' | 'recordings',
    filterSubject: string,
    schema: z.ZodType<E>,
    filter: CallFilter,
  ): Promise<Subscription<E>> {
    this.jsm ??= jetstreamManager(this.nc);
    return openSubscription({
      js: this.js,
      jsm: await this.jsm,
      stream: this.subjects.streamName(family),
      filterSubject,
      schema,
      startAt: filter.startAt ?? 'new',
      ...(this.options.onInvalid ? { onInvalid: this.options.onInvalid } : {}),
    });
  }
}

function checkedCallSid(callSid: string | undefined): string | undefined {
  if (callSid !== undefined && !CALL_SID_PATTERN.test(callSid)) {
    throw new RangeError('callSid must be CA followed by 32 hex digits');
  }
  return callSid;
}

/** One subject filter for any combination of call and kind (NATS 2.9 consumers take a single filter). */
export function transcriptFilterSubject(
  subjects: Subjects,
  filter: Omit<TranscriptFilter, 'startAt'>,
): string {
  const callSid = checkedCallSid(filter.callSid);
  if (filter.kind === undefined) return subjects.all('transcripts', callSid);
  if (filter.kind !== 'partial' && filter.kind !== 'final')
    throw new RangeError('kind must be partial or final');
  const parts = [FAMILIES.transcripts, callSid ?? '*', '*', filter.kind];
  return subjects.prefix ? [subjects.prefix, ...parts].join('.') : parts.join('.');
}
