import { createHash } from 'node:crypto';
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@calltx/storage';
import type { Pool } from '@calltx/db';
import type { Subjects } from '@calltx/events';

/** A message as a stream holds it: the faulted run's duplicates show up here, not in a deduplicated view. */
export interface StoredMessage {
  subject: string;
  msgId: string | undefined;
  event: Record<string, unknown>;
}

export interface Final {
  msgId: string | undefined;
  speaker: string;
  source: string;
  segmentId: string;
  sequence: number;
  startMs: number;
  endMs: number;
}

/** Everything one call left behind in the stores and streams. */
export interface CallRecord {
  callSid: string;
  /** `agent-8000.wav` → sha256 of the stream WAVs (calls/<sid>/stream/*.wav). */
  streamWavs: Map<string, string>;
  /** Frames stored per speaker (8 kHz rows of call_stream_files). */
  framesStored: Map<string, number>;
  /** Frames the gateway counted as lost (stream-stopped events). */
  framesLostAtGateway: number;
  audioStoredEvents: number;
  recordingRows: Array<{ recordingSid: string; status: string; objects: number }>;
  /** `dual.wav` → sha256 of each recording object, and how many objects there are in all. */
  recordingObjects: Map<string, string>;
  recordingObjectCount: number;
  recordingStoredEvents: number;
  finals: Final[];
}

export interface RunRecord {
  calls: Map<string, CallRecord>;
  /** Per stream: Nats-Msg-Ids stored more than once, with their counts. */
  duplicateIds: Array<{ stream: string; msgId: string; count: number }>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Every message of a stream, in order, through an ordered consumer. */
export async function readStream(js: JetStreamClient, stream: string): Promise<StoredMessage[]> {
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const out: StoredMessage[] = [];
  const info = await consumer.info(true);
  if (info.num_pending === 0) return out;
  const messages = await consumer.consume();
  for await (const msg of messages) {
    out.push({
      subject: msg.subject,
      msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
      event: msg.json(),
    });
    if (msg.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

export async function collectRun(deps: {
  js: JetStreamClient;
  subjects: Subjects;
  pool: Pool;
  store: ObjectStore;
  callSids: readonly string[];
}): Promise<RunRecord> {
  const { js, subjects, pool, store } = deps;
  const streams = {
    calls: await readStream(js, subjects.streamName('calls')),
    recordings: await readStream(js, subjects.streamName('recordings')),
    transcripts: await readStream(js, subjects.streamName('transcripts')),
  };
  const duplicateIds: RunRecord['duplicateIds'] = [];
  for (const [family, messages] of Object.entries(streams)) {
    const counts = new Map<string, number>();
    for (const m of messages) if (m.msgId) counts.set(m.msgId, (counts.get(m.msgId) ?? 0) + 1);
    for (const [msgId, count] of counts)
      if (count > 1) duplicateIds.push({ stream: subjects.streamName(family as 'calls'), msgId, count });
  }

  const files = await pool.query<{ call_sid: string; speaker: string; frames: number }>(
    'SELECT call_sid, speaker, frames FROM call_stream_files WHERE sample_rate = 8000',
  );
  const recordings = await pool.query<{
    recording_sid: string;
    call_sid: string;
    status: string;
    objects: string;
  }>(
    `SELECT r.recording_sid, r.call_sid, r.status, count(o.role) AS objects
       FROM recordings r LEFT JOIN recording_objects o USING (recording_sid)
      GROUP BY r.recording_sid, r.call_sid, r.status`,
  );

  const calls = new Map<string, CallRecord>();
  for (const callSid of deps.callSids) {
    const record: CallRecord = {
      callSid,
      streamWavs: new Map(),
      framesStored: new Map(
        files.rows.filter((r) => r.call_sid === callSid).map((r) => [r.speaker, r.frames]),
      ),
      framesLostAtGateway: 0,
      audioStoredEvents: 0,
      recordingRows: recordings.rows
        .filter((r) => r.call_sid === callSid)
        .map((r) => ({ recordingSid: r.recording_sid, status: r.status, objects: Number(r.objects) })),
      recordingObjects: new Map(),
      recordingObjectCount: 0,
      recordingStoredEvents: 0,
      finals: [],
    };
    for await (const object of store.list(`calls/${callSid}/`)) {
      const rest = object.key.slice(`calls/${callSid}/`.length);
      const stream = /^stream\/([^/]+\.wav)$/.exec(rest);
      const recording = /^recordings\/[^/]+\/([^/]+)$/.exec(rest);
      if (stream) record.streamWavs.set(stream[1]!, sha256(await store.getBuffer(object.key)));
      if (recording) {
        record.recordingObjectCount += 1;
        record.recordingObjects.set(recording[1]!, sha256(await store.getBuffer(object.key)));
      }
    }
    calls.set(callSid, record);
  }

  for (const m of streams.calls) {
    const call = calls.get(String(m.event.callSid));
    if (!call) continue;
    if (m.event.type === 'call.audio-stored.v1') call.audioStoredEvents += 1;
    if (m.event.type === 'call.stream-stopped.v1') {
      const lost = m.event.framesLost as Record<string, number>;
      call.framesLostAtGateway += Object.values(lost).reduce((a, b) => a + b, 0);
    }
  }
  for (const m of streams.recordings) {
    const call = calls.get(String(m.event.callSid));
    if (call && m.event.type === 'recording.stored.v1') call.recordingStoredEvents += 1;
  }
  for (const m of streams.transcripts) {
    const e = m.event;
    const call = calls.get(String(e.callSid));
    if (!call || e.type !== 'transcript.final.v1') continue;
    call.finals.push({
      msgId: m.msgId,
      speaker: String(e.speaker),
      source: String(e.source),
      segmentId: String(e.segmentId),
      sequence: Number(e.sequence),
      startMs: Number(e.startMs),
      endMs: Number(e.endMs),
    });
  }
  return { calls, duplicateIds };
}
