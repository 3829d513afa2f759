import type { JetStreamClient } from '@nats-io/jetstream';
import {
  callEvents,
  partyNumber,
  recordingEvents,
  transcriptEvents,
  type Subjects,
  type TranscriptEvent,
} from '@calltx/events';
import { internalEvents } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';

/**
 * Events as the owning services publish them (stream-ingest, recording-fetcher, transcriber, and the gateway for
 * Twilio's callbacks), for the read model to project. Each helper resolves once the api has handled them.
 */
export interface Seeder {
  js: JetStreamClient;
  subjects: Subjects;
  settled(): Promise<void>;
}

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const SHA256 = '0'.repeat(64);
let published = 0;
const msgId = (name: string) => `seed:${name}:${++published}:${Date.now()}`;

export interface SeedCall {
  callSid: string;
  startedAt: string;
  endedAt?: string | null;
  status?: string | null;
  agent?: string;
  technician?: string;
  /** Published as the stored audio's length (both WAVs of the agent's track). */
  durationMs?: number | null;
  streamStoppedAt?: string | null;
}

/** The gateway's and the api's CALLER_NUMBER_HASH_KEY in tests. */
export const CALLER_NUMBER_HASH_KEY = 'test-caller-number-hash-key-0123456789';

/** The parties as the gateway publishes them: a phone number as its keyed hash, anything else as given. */
function partiesOf(from: string, to: string) {
  const fromNumber = partyNumber(from, CALLER_NUMBER_HASH_KEY);
  const toNumber = partyNumber(to, CALLER_NUMBER_HASH_KEY);
  return {
    from: fromNumber ? '' : from,
    to: toNumber ? '' : to,
    ...(fromNumber ? { fromNumber } : {}),
    ...(toNumber ? { toNumber } : {}),
  };
}

export async function seedCall({ js, subjects, settled }: Seeder, call: SeedCall): Promise<void> {
  const { callSid } = call;
  await publishEvent(
    js,
    subjects.call(callSid, 'started'),
    callEvents.started({
      callSid,
      at: call.startedAt,
      accountSid: ACCOUNT_SID,
      ...partiesOf(call.agent ?? 'client:alice', call.technician ?? '+15550100000'),
      direction: 'inbound',
    }),
    msgId(`${callSid}:started`),
  );
  if (call.streamStoppedAt) {
    const frames = { inbound: 100, outbound: 100 };
    await publishEvent(
      js,
      subjects.call(callSid, 'stream-stopped'),
      callEvents.streamStopped({
        callSid,
        at: call.streamStoppedAt,
        streamSid: `MZ${callSid.slice(2)}`,
        reason: 'stop',
        framesReceived: frames,
        framesLost: { inbound: 0, outbound: 0 },
        lastTimestampMs: { inbound: 1980, outbound: 1980 },
      }),
      msgId(`${callSid}:stream-stopped`),
    );
  }
  if (call.endedAt) {
    await publishEvent(
      js,
      subjects.call(callSid, 'ended'),
      callEvents.ended({ callSid, at: call.endedAt, status: call.status ?? 'completed' }),
      msgId(`${callSid}:ended`),
    );
  }
  if (call.durationMs !== undefined && call.durationMs !== null) {
    await publishAudioStored(
      { js, subjects },
      callSid,
      'agent',
      `calls/${callSid}/stream/agent`,
      call.durationMs,
    );
  }
  await settled();
}

/** The parties in clear, as the gateway publishes them on parties.v1 with STORE_CALLER_NUMBERS. */
export async function seedParties(
  { js, subjects, settled }: Seeder,
  parties: { callSid: string; at: string; from: string; to: string },
): Promise<void> {
  await publishEvent(
    js,
    subjects.parties(parties.callSid),
    internalEvents.callParties(parties),
    msgId(`${parties.callSid}:parties`),
  );
  await settled();
}

export async function seedSegment(
  { js, subjects, settled }: Seeder,
  s: {
    callSid: string;
    speaker: string;
    source: 'live' | 'recording';
    sequence: number;
    startMs: number;
    text: string;
    /** Default: 1.5 s after the start. */
    endMs?: number;
    /** What finals carry since transcripts.v1 grew them. */
    detail?: Pick<
      Extract<TranscriptEvent, { final: true }>,
      'language' | 'avgLogprob' | 'noSpeechProb' | 'segments' | 'words'
    >;
  },
): Promise<void> {
  const now = new Date().toISOString();
  const segmentId = `${s.source}-${s.speaker}-${s.sequence}`;
  await publishEvent(
    js,
    subjects.transcript(s.callSid, s.speaker, 'final'),
    transcriptEvents.final({
      callSid: s.callSid,
      speaker: s.speaker,
      segmentId,
      sequence: s.sequence,
      startMs: s.startMs,
      endMs: s.endMs ?? s.startMs + 1500,
      text: s.text,
      final: true,
      source: s.source,
      modelId: 'whisper-tiny.en',
      timing: { audioEndAt: now, publishedAt: now, latencyMs: 120 },
      ...s.detail,
    }),
    msgId(`${segmentId}:final`),
  );
  await settled();
}

export async function seedRecording(
  { js, subjects, settled }: Seeder,
  r: {
    recordingSid: string;
    callSid: string;
    status: 'in-progress' | 'completed' | 'absent' | 'failed' | 'stored';
    durationMs?: number;
    error?: { source: 'twilio' | 'fetcher'; code: string; message?: string };
    objects?: Array<{ role: string; channel: 1 | 2 | null; key: string; bytes: number; durationMs: number }>;
  },
): Promise<void> {
  const { recordingSid, callSid } = r;
  const at = new Date().toISOString();
  if (r.status === 'stored') {
    await publishEvent(
      js,
      subjects.recording(callSid, 'stored'),
      recordingEvents.stored({
        callSid,
        at,
        recordingSid,
        durationMs: r.durationMs ?? 0,
        channels: 2,
        objects: (r.objects ?? []).map((o) => ({ ...o, sha256: SHA256 })),
      }),
      msgId(`${recordingSid}:stored`),
    );
  } else if (r.status === 'failed' && r.error?.source === 'fetcher') {
    await publishEvent(
      js,
      subjects.recording(callSid, 'failed'),
      recordingEvents.fetchFailed({
        callSid,
        at,
        recordingSid,
        errorCode: r.error.code,
        errorMessage: r.error.message ?? `the recording could not be fetched (${r.error.code})`,
      }),
      msgId(`${recordingSid}:fetch-failed`),
    );
  } else {
    await publishEvent(
      js,
      subjects.recording(callSid, r.status),
      recordingEvents.status({
        callSid,
        at,
        accountSid: ACCOUNT_SID,
        recordingSid,
        status: r.status,
        ...(r.error ? { errorCode: r.error.code } : {}),
        ...(r.durationMs === undefined ? {} : { durationSeconds: Math.round(r.durationMs / 1000) }),
      }),
      msgId(`${recordingSid}:${r.status}`),
    );
  }
  await settled();
}

/** stream-ingest's announcement of a call's stored audio: one speaker's 8 and 16 kHz WAVs. */
export async function seedStreamFile(
  seeder: Seeder,
  f: { callSid: string; speaker: string; key: string; bytes: number; durationMs: number },
): Promise<void> {
  await publishAudioStored(
    seeder,
    f.callSid,
    f.speaker,
    f.key.replace(/-8000\.wav$/, ''),
    f.durationMs,
    f.bytes,
  );
  await seeder.settled();
}

async function publishAudioStored(
  { js, subjects }: Pick<Seeder, 'js' | 'subjects'>,
  callSid: string,
  speaker: string,
  keyBase: string,
  durationMs: number,
  bytes = 1000,
): Promise<void> {
  await publishEvent(
    js,
    subjects.call(callSid, 'audio-stored'),
    callEvents.audioStored({
      callSid,
      at: new Date().toISOString(),
      files: [8000, 16000].map((sampleRate) => ({
        speaker,
        sampleRate,
        key: `${keyBase}-${sampleRate}.wav`,
        bytes,
        durationMs,
        sha256: SHA256,
      })),
      gapFilledMs: { [speaker]: 40 },
    }),
    msgId(`${callSid}:audio-stored`),
  );
}
