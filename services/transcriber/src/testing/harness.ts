import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pcm16leBytes } from '@calltx/audio';
import { createLogger, createMetricsRegistry, type Logger } from '@calltx/runtime';
import { createObjectStore } from '@calltx/storage';
import { internalEvents, type TranscriptionJob } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';
import { callEvents, type Family } from '@calltx/events';
import { startServiceStack, type ServiceStack } from '@calltx/testkit';
import { FIXTURE_DIR } from '@calltx/whisper/testing';
import { createTranscriber, type Transcriber } from '../app.js';
import { loadTranscriberConfig } from '../config.js';
import { MIGRATIONS_TABLE, TRANSCRIBER_MIGRATIONS } from '../db/migrations.js';
import { TranscriptStore } from '../db/transcript-store.js';

import { LogCapture, eventually } from '@calltx/devstack';

export { LogCapture, eventually };

/** The committed random-weights Whisper model (onnx-community layout), kept by the engine's package. */
export const TEST_MODEL_DIR = FIXTURE_DIR;
export const FAMILIES: Family[] = ['calls', 'audio', 'transcribe', 'transcripts', 'deadletter', 'erasure'];

export const sid = (prefix: 'CA' | 'RE') => `${prefix}${randomBytes(16).toString('hex')}`;

export interface SegmentInput {
  callSid: string;
  speaker: string;
  segmentId: string;
  sequence: number;
  final: boolean;
  startMs: number;
  pcm: Int16Array;
  /** Default: now. */
  audioEndAt?: string;
  /** As stream-ingest's live-finals audit sets it on a final it publishes again. */
  reissue?: number;
}

export interface TranscriptMessage {
  subject: string;
  seq: number;
  msgId: string | undefined;
  json: Record<string, unknown>;
}

/**
 * Everything the transcriber talks to, real and isolated per stack: JetStream streams under a unique
 * subject prefix, a fresh Postgres schema (migrated) and an empty bucket.
 */
export interface TranscriberStack extends ServiceStack {
  transcriptStore: TranscriptStore;
  /** The environment a transcriber needs to run against this stack. */
  env: Record<string, string>;
  /** Publishes a live speech segment as stream-ingest does (msgId overridable, e.g. to bypass deduplication). */
  publishSegment(segment: SegmentInput, msgId?: string): Promise<void>;
  publishJob(job: Omit<TranscriptionJob, 'type'>, msgId?: string): Promise<void>;
  /** Publishes a call's call.started as the gateway does, with the language and hints the caller asked for. */
  publishCallStarted(callSid: string, settings?: { language?: string; hints?: string }): Promise<void>;
  /** Every transcript event stored so far, in stream order. */
  transcripts(): Promise<TranscriptMessage[]>;
  close(): Promise<void>;
}

export async function startStack(): Promise<TranscriberStack> {
  const stack = await startServiceStack({
    families: FAMILIES,
    migrations: { table: MIGRATIONS_TABLE, migrations: TRANSCRIBER_MIGRATIONS },
    poolMax: 4,
  });
  const { subjects, js, jsm } = stack;
  return {
    ...stack,
    transcriptStore: new TranscriptStore(stack.pool),
    env: {
      ...stack.env,
      WHISPER_MODEL_DIR: TEST_MODEL_DIR,
      TRANSCRIBER_THREADS: '1',
      PORT: '0',
      // Most tests publish speech without a call.started: they need not wait for one.
      CALL_SETTINGS_WAIT_MS: '0',
    },
    async publishSegment(segment, msgId) {
      const kind = segment.final ? 'final' : 'partial';
      const event = internalEvents.speechSegment({
        callSid: segment.callSid,
        speaker: segment.speaker,
        segmentId: segment.segmentId,
        sequence: segment.sequence,
        final: segment.final,
        startMs: segment.startMs,
        endMs: segment.startMs + Math.round(segment.pcm.length / 16),
        sampleRate: 16000,
        pcm: pcm16leBytes(segment.pcm).toString('base64'),
        audioEndAt: segment.audioEndAt ?? new Date().toISOString(),
        ...(segment.reissue === undefined ? {} : { reissue: segment.reissue }),
      });
      await publishEvent(
        js,
        subjects.audio(segment.callSid, segment.speaker, kind),
        event,
        msgId ?? `${segment.segmentId}:${kind}:${event.endMs}`,
      );
    },
    async publishJob(job, msgId) {
      const event = internalEvents.transcriptionJob(job);
      await publishEvent(
        js,
        subjects.transcribe(job.callSid, job.speaker),
        event,
        msgId ?? `${job.recordingSid}:${job.speaker}`,
      );
    },
    async publishCallStarted(callSid, settings = {}) {
      const event = callEvents.started({
        callSid,
        accountSid: `AC${'1'.repeat(32)}`,
        at: new Date().toISOString(),
        from: 'client:agent-1',
        to: '+15005550100',
        direction: 'inbound',
        ...settings,
      });
      await publishEvent(js, subjects.call(callSid, 'started'), event, `${callSid}:started`);
    },
    async transcripts() {
      const stream = subjects.streamName('transcripts');
      const info = await jsm.streams.info(stream);
      const out: TranscriptMessage[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!msg) continue;
        out.push({
          subject: msg.subject,
          seq: msg.seq,
          msgId: msg.header?.get('Nats-Msg-Id'),
          json: msg.json<Record<string, unknown>>(),
        });
      }
      return out;
    },
  };
}

export interface RunningTranscriber {
  transcriber: Transcriber;
  logs: LogCapture;
  logger: Logger;
  baseUrl: string;
  stop(): Promise<void>;
}

/** The transcriber in this process against a stack, configured through the same variables as in production. */
export async function startTranscriber(
  stack: TranscriberStack,
  overrides: Record<string, string> = {},
): Promise<RunningTranscriber> {
  const config = loadTranscriberConfig({ ...stack.env, ...overrides });
  const logs = new LogCapture();
  const logger = createLogger({ service: 'transcriber', level: 'debug', destination: logs });
  const nc = await connect({ servers: config.NATS_URL });
  const transcriber = createTranscriber({
    config,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    subjects: stack.subjects,
    pool: stack.pool,
    objects: createObjectStore(stack.s3.config),
    logger,
    registry: createMetricsRegistry('transcriber'),
    isNatsConnected: () => !nc.isClosed(),
    nc,
  });
  const port = await transcriber.http.listen(0, '127.0.0.1');
  await transcriber.start();
  return {
    transcriber,
    logs,
    logger,
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      await transcriber.stop(5_000);
      await transcriber.http.close();
      await nc.close();
    },
  };
}

/** A metric's value from the Prometheus text at `baseUrl/metrics` (0 when absent). */
export async function metricValue(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
