import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsUrlForTests, uniqueName } from '@calltx/devstack';
import { Subjects, transcriptEvents, type TranscriptEvent } from '@calltx/events';
import { createLogger } from '@calltx/runtime';
import { provisionStreams, publishEvent } from '@calltx/nats';

export const newCallSid = () => `CA${randomBytes(16).toString('hex')}`;

export interface Utterance {
  callSid: string;
  speaker: string;
  sequence: number;
  text: string;
  final: boolean;
  /** Partials of one utterance share its segmentId. */
  segmentId?: string;
}

/** A transcript event as the transcriber publishes it. */
export function transcript(u: Utterance): TranscriptEvent {
  const now = new Date().toISOString();
  const fields = {
    callSid: u.callSid,
    speaker: u.speaker,
    segmentId: u.segmentId ?? `${u.callSid}-${u.speaker}-${u.sequence}`,
    sequence: u.sequence,
    startMs: u.sequence * 2_000,
    endMs: u.sequence * 2_000 + 1_500,
    text: u.text,
    source: 'live' as const,
    modelId: 'test-model',
    timing: { audioEndAt: now, publishedAt: now, latencyMs: 300 },
  };
  return u.final
    ? transcriptEvents.final({ ...fields, final: true })
    : transcriptEvents.partial({ ...fields, final: false });
}

export interface EventsTestBed {
  nc: NatsConnection;
  js: JetStreamClient;
  subjects: Subjects;
  /** Publishes and returns the stream sequence JetStream stored it at. */
  publishTranscript(event: TranscriptEvent): Promise<number>;
  /** Publishes raw bytes (e.g. an invalid payload) on a subject. */
  publishRaw(subject: string, data: string): Promise<number>;
  stop(): Promise<void>;
}

let partialCounter = 0;

/** Real NATS, with the public streams under a prefix of this test's own. */
export async function eventsTestBed(): Promise<EventsTestBed> {
  const natsUrl = natsUrlForTests();
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const subjects = new Subjects(uniqueName('ec'));
  const families = ['transcripts', 'calls', 'recordings'] as const;
  await provisionStreams(jsm, subjects, families, createLogger({ service: 'test', level: 'silent' }));
  const js = jetstream(nc);
  return {
    nc,
    js,
    subjects,
    async publishTranscript(event) {
      const kind = event.final ? 'final' : 'partial';
      const msgId = event.final
        ? `${event.segmentId}:final`
        : `${event.segmentId}:partial:${++partialCounter}`;
      const ack = await publishEvent(
        js,
        subjects.transcript(event.callSid, event.speaker, kind),
        event,
        msgId,
      );
      return ack.seq;
    },
    async publishRaw(subject, data) {
      return (await js.publish(subject, data)).seq;
    },
    async stop() {
      for (const family of families)
        await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
      await nc.close();
    },
  };
}
