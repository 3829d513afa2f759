import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { eventually, natsUrlForTests, postgresForTests, s3ForTests, uniqueName } from '@calltx/devstack';
import { Subjects, transcriptEvents, type TranscriptEvent } from '@calltx/events';
import { createLogger, type Logger } from '@calltx/runtime';
import { createObjectStore, type ObjectStore } from '@calltx/storage';
import { createPool, type Pool } from '@calltx/db';
import { provisionStreams, publishEvent } from '@calltx/nats';
import { hashApiKey, hashPassword, loadApiConfig, type ApiConfig } from '../index.js';
import { createApiService, type ApiService } from '../../app.js';
import type { ConsoleAndApi } from '../../console/index.js';
import { migrateReadModel } from '../../read-model/rebuild.js';
import { CALLER_NUMBER_HASH_KEY } from './seed.js';

export const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789';
export const AGENT = { identity: 'alice', password: 'correct horse battery staple' };
export const KEYS = {
  /** Every read scope, audit:read included. */
  reader: 'ctx_test_reader_key_0123456789abcdef',
  /** calls:read only. */
  callsOnly: 'ctx_test_calls_only_key_0123456789ab',
};
export const VOICE = {
  apiKeySid: `SK${'2'.repeat(32)}`,
  apiKeySecret: 'test-api-key-secret-0123456789',
  twimlAppSid: `AP${'3'.repeat(32)}`,
};

export const newSid = (prefix: 'CA' | 'RE') => `${prefix}${randomBytes(16).toString('hex')}`;

export interface ApiHarness {
  baseUrl: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  pool: Pool;
  objectStore: ObjectStore;
  mounted: ConsoleAndApi;
  service: ApiService;
  config: ApiConfig;
  logger: Logger;
  /** Resolves once the read model has handled every event published so far. */
  settled(): Promise<void>;
  /** Everything the API logged, as JSON lines. */
  logs(): string;
  /** Publishes a transcript event as the transcriber does; resolves with its stream sequence. */
  publishTranscript(event: TranscriptEvent): Promise<number>;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  env?: Record<string, string>;
  heartbeatMs?: number;
  /** Create the read model's tables (default true). */
  migrate?: boolean;
  /** Share the subjects and streams of another harness (e.g. a gateway taking simulated calls). */
  subjectPrefix?: string;
}

/**
 * The api service as its main wires it (read model fed by its consumers, API and console mounted), on real NATS
 * (streams under a prefix of their own), a fresh Postgres schema and an S3 bucket of its own.
 */
export async function startApi(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const [db, s3, passwordHash] = await Promise.all([
    postgresForTests(),
    s3ForTests(),
    hashPassword(AGENT.password),
  ]);
  const pool = createPool(db.url, { max: 4 });
  if (options.migrate ?? true) await migrateReadModel(pool);
  const objectStore = createObjectStore(s3.config);
  const logLines: string[] = [];
  const logger = createLogger({
    service: 'api-test',
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
  const nc = await connect({ servers: natsUrlForTests() });
  const jsm = await jetstreamManager(nc);
  const subjects = new Subjects(options.subjectPrefix ?? uniqueName('api'));
  const families = ['calls', 'recordings', 'transcripts', 'parties', 'deadletter', 'erasure'] as const;
  await provisionStreams(jsm, subjects, [...families], logger);
  const js = jetstream(nc);

  const config = loadApiConfig({
    API_KEYS: `reader:${hashApiKey(KEYS.reader)}:calls:read transcripts:read recordings:read audit:read,calls-only:${hashApiKey(KEYS.callsOnly)}:calls:read`,
    API_JWT_SECRET: JWT_SECRET,
    CONSOLE_AGENTS: `${AGENT.identity}:${passwordHash}`,
    TWILIO_API_KEY_SID: VOICE.apiKeySid,
    TWILIO_API_KEY_SECRET: VOICE.apiKeySecret,
    TWILIO_TWIML_APP_SID: VOICE.twimlAppSid,
    RECORDING_URL_TTL_SECONDS: '120',
    CALLER_NUMBER_HASH_KEY,
    ...options.env,
  });
  const service = await createApiService({
    config,
    pool,
    objectStore,
    nc,
    js,
    jsm,
    subjects,
    logger,
    registry: new Registry(),
    twilioAccountSid: ACCOUNT_SID,
    maxDeliver: 5,
    isNatsConnected: () => !nc.isClosed(),
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
  });
  const { http, consoleAndApi: mounted } = service;
  const port = await http.listen(0, '127.0.0.1');

  let partials = 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    nc,
    js,
    jsm,
    subjects,
    pool,
    objectStore,
    mounted,
    service,
    config,
    logger,
    async settled() {
      await eventually(async () => {
        if (!(await service.readModel.caughtUp())) throw new Error('the read model is behind');
      });
    },
    logs: () => logLines.join(''),
    async publishTranscript(event) {
      const kind = event.final ? 'final' : 'partial';
      const msgId = event.final ? `${event.segmentId}:final` : `${event.segmentId}:partial:${++partials}`;
      return (await publishEvent(js, subjects.transcript(event.callSid, event.speaker, kind), event, msgId))
        .seq;
    },
    async close() {
      await mounted.close();
      await http.close();
      await service.readModel.stop();
      await Promise.all([service.sweeper.stop(), service.erasures.stop()]);
      for (const family of families) {
        await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
      }
      await nc.close();
      await pool.end();
      await Promise.all([db.stop(), s3.stop()]);
    },
  };
}

/** A transcript event as the transcriber publishes it. */
export function transcript(fields: {
  callSid: string;
  speaker: string;
  sequence: number;
  text: string;
  final: boolean;
  startMs?: number;
}): TranscriptEvent {
  const now = new Date().toISOString();
  const startMs = fields.startMs ?? fields.sequence * 3_000;
  const common = {
    callSid: fields.callSid,
    speaker: fields.speaker,
    segmentId: `${fields.callSid.slice(-8)}-${fields.speaker}-${fields.sequence}`,
    sequence: fields.sequence,
    startMs,
    endMs: startMs + 2_000,
    text: fields.text,
    source: 'live' as const,
    modelId: 'test-model',
    timing: { audioEndAt: now, publishedAt: now, latencyMs: 250 },
  };
  return fields.final
    ? transcriptEvents.final({ ...common, final: true })
    : transcriptEvents.partial({ ...common, final: false });
}

export interface FetchedJson {
  status: number;
  headers: Headers;
  json: unknown;
}

export type Credential = { apiKey: string } | { token: string } | null;

export async function getJson(
  baseUrl: string,
  path: string,
  credential: Credential,
  init: RequestInit = {},
): Promise<FetchedJson> {
  const headers = new Headers(init.headers);
  if (credential && 'apiKey' in credential) headers.set('x-api-key', credential.apiKey);
  if (credential && 'token' in credential) headers.set('authorization', `Bearer ${credential.token}`);
  const response = await fetch(`${baseUrl}/api/v1${path}`, { ...init, headers });
  return {
    status: response.status,
    headers: response.headers,
    json: await response.json().catch(() => null),
  };
}
