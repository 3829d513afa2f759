import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUrlForTests, uniqueName } from '@calltx/devstack';
import { createLogger } from '@calltx/runtime';
import { Subjects, transcriptEvents } from '@calltx/events';
import { publishEvent } from './publish.js';
import { provisionStreams } from './streams.js';
import { readTranscriptFinals } from './transcript-finals.js';

const subjects = new Subjects(uniqueName('tf'));
const logger = createLogger({ service: 'transcript-finals-test', level: 'silent' });
const sid = () => `CA${randomBytes(16).toString('hex')}`;

let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;

beforeAll(async () => {
  nc = await connect({ servers: natsUrlForTests() });
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await provisionStreams(jsm, subjects, ['transcripts'], logger);
});

afterAll(async () => {
  await jsm?.streams.delete(subjects.streamName('transcripts')).catch(() => undefined);
  await nc?.close();
});

async function publishTranscript(
  callSid: string,
  speaker: string,
  sequence: number,
  options: { final?: boolean; source?: 'live' | 'recording' } = {},
): Promise<string> {
  const { final = true, source = 'live' } = options;
  const segmentId = `${callSid}:${speaker}:${sequence}`;
  const at = new Date().toISOString();
  const fields = {
    callSid,
    speaker,
    segmentId,
    sequence,
    startMs: sequence * 1_000,
    endMs: sequence * 1_000 + 900,
    text: 'words',
    source,
    modelId: 'test',
    timing: { audioEndAt: at, publishedAt: at, latencyMs: 0 },
  };
  const kind = final ? 'final' : 'partial';
  await publishEvent(
    js,
    subjects.transcript(callSid, speaker, kind),
    final
      ? transcriptEvents.final({ ...fields, final: true })
      : transcriptEvents.partial({ ...fields, final: false }),
    `${segmentId}:${source}:${kind}`,
  );
  return segmentId;
}

describe('readTranscriptFinals', () => {
  it('reads every final of the call stored since the time given, of both speakers and sources, and nothing else', async () => {
    const callSid = sid();
    const notBefore = new Date(Date.now() - 1_000);
    const agent = await publishTranscript(callSid, 'agent', 0);
    await publishTranscript(callSid, 'agent', 1, { final: false });
    const technician = await publishTranscript(callSid, 'technician', 0);
    const recording = await publishTranscript(callSid, 'technician', 7, { source: 'recording' });
    // Another call's final, and a message on the call's final subject that is no transcript this version reads.
    await publishTranscript(sid(), 'agent', 0);
    await js.publish(
      subjects.transcript(callSid, 'agent', 'final'),
      new TextEncoder().encode('{"type":"x"}'),
    );

    const finals = await readTranscriptFinals(js, subjects, callSid, notBefore);
    expect(finals).toEqual([
      { speaker: 'agent', segmentId: agent, sequence: 0, source: 'live' },
      { speaker: 'technician', segmentId: technician, sequence: 0, source: 'live' },
      { speaker: 'technician', segmentId: recording, sequence: 7, source: 'recording' },
    ]);
    // Only what was stored since about `notBefore`: less its 10-minute margin for other clocks, and no more.
    const later = (minutes: number) => new Date(Date.now() + minutes * 60_000);
    expect(await readTranscriptFinals(js, subjects, callSid, later(9))).toHaveLength(3);
    expect(await readTranscriptFinals(js, subjects, callSid, later(11))).toEqual([]);
  });

  it('answers at once for a call with no transcript, leaving no consumer behind', async () => {
    const transcripts = subjects.streamName('transcripts');
    expect(await readTranscriptFinals(js, subjects, sid(), new Date(0))).toEqual([]);
    expect((await jsm.streams.info(transcripts)).state.consumer_count).toBe(0);
  });
});
