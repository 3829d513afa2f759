import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createLogger, createMetricsRegistry, type Logger } from '@calltx/runtime';
import { publishEvent } from '@calltx/nats';
import { recordingEvents, type Family } from '@calltx/events';
import { startServiceStack, type ServiceStack } from '@calltx/testkit';
import { startFakeTwilioApi, type FakeTwilioApi } from '@calltx/twilio-sim';
import { createFetcherStore, createRecordingFetcher, type RecordingFetcher } from '../app.js';
import { loadFetcherConfig } from '../config.js';
import { MIGRATIONS_TABLE, RECORDING_MIGRATIONS } from '../db/migrations.js';
import { RecordingsRepository, type RecordingRow } from '../db/recordings-repository.js';

import { LogCapture, eventually } from '@calltx/devstack';

export { LogCapture, eventually };

export const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
export const FAMILIES: Family[] = [
  'calls',
  'recordings',
  'transcribe',
  'transcripts',
  'deadletter',
  'erasure',
];

export const sid = (prefix: 'CA' | 'RE') => `${prefix}${randomBytes(16).toString('hex')}`;

/**
 * Everything the fetcher talks to, real and isolated per stack: the service stack (NATS streams under a unique
 * prefix, a fresh Postgres schema, an empty bucket) and a fake Twilio REST API.
 */
export interface FetcherStack extends ServiceStack {
  repository: RecordingsRepository;
  twilio: FakeTwilioApi;
  /** The environment a fetcher needs to run against this stack. */
  env: Record<string, string>;
  /** Publishes a recording status callback as the gateway does (msgId overridable to bypass deduplication). */
  callback(
    callSid: string,
    recordingSid: string,
    status: 'in-progress' | 'completed' | 'absent' | 'failed',
    extra?: CallbackExtra,
  ): Promise<void>;
  row(recordingSid: string): Promise<RecordingRow | null>;
  /** Keys (and sizes) stored under a call. */
  objects(callSid: string): Promise<Array<{ key: string; size: number }>>;
  close(): Promise<void>;
}

export interface CallbackExtra {
  msgId?: string;
  errorCode?: string;
  durationSeconds?: number;
  accountSid?: string;
}

export async function startStack(twilioAuthToken = AUTH_TOKEN): Promise<FetcherStack> {
  const stack = await startServiceStack({
    families: FAMILIES,
    migrations: { table: MIGRATIONS_TABLE, migrations: RECORDING_MIGRATIONS },
  });
  const { subjects, js, store } = stack;
  const twilio = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: twilioAuthToken });
  const repository = new RecordingsRepository(stack.pool);

  return {
    ...stack,
    repository,
    twilio,
    env: {
      ...stack.env,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: twilio.url,
      PORT: '0',
    },
    async callback(callSid, recordingSid, status, extra = {}) {
      const event = recordingEvents.status({
        callSid,
        at: new Date().toISOString(),
        accountSid: extra.accountSid ?? ACCOUNT_SID,
        recordingSid,
        status,
        recordingUrl: `${twilio.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${recordingSid}`,
        channels: 2,
        durationSeconds: extra.durationSeconds,
        errorCode: extra.errorCode,
      });
      await publishEvent(
        js,
        subjects.recording(callSid, status),
        event,
        extra.msgId ?? `${recordingSid}:${status}`,
      );
    },
    row: (recordingSid) => repository.get(recordingSid),
    async objects(callSid) {
      const found: Array<{ key: string; size: number }> = [];
      for await (const item of store.list(`calls/${callSid}/`)) found.push(item);
      return found.sort((a, b) => a.key.localeCompare(b.key));
    },
    async close() {
      await twilio.close();
      await stack.close();
    },
  };
}

export interface RunningFetcher {
  fetcher: RecordingFetcher;
  logs: LogCapture;
  logger: Logger;
  stop(): Promise<void>;
}

/** The fetcher in this process against a stack, configured through the same variables as in production. */
export async function startFetcher(
  stack: FetcherStack,
  overrides: Record<string, string> = {},
): Promise<RunningFetcher> {
  const config = loadFetcherConfig({ ...stack.env, ...overrides });
  const logs = new LogCapture();
  const logger = createLogger({ service: 'recording-fetcher', level: 'debug', destination: logs });
  const nc = await connect({ servers: config.NATS_URL });
  const fetcher = createRecordingFetcher({
    config,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    subjects: stack.subjects,
    pool: stack.pool,
    store: createFetcherStore(config),
    logger,
    registry: createMetricsRegistry('recording-fetcher'),
    isNatsConnected: () => !nc.isClosed(),
  });
  await fetcher.start();
  return {
    fetcher,
    logs,
    logger,
    async stop() {
      await fetcher.stop(1_000);
      await fetcher.http.close();
      await nc.close();
    },
  };
}

/** How many messages a stream holds on each subject matching `filter` (works on work-queue streams too). */
export async function countBySubject(
  stack: FetcherStack,
  family: Family,
  filter: string,
): Promise<Record<string, number>> {
  const info = await stack.jsm.streams.info(stack.subjects.streamName(family), { subjects_filter: filter });
  return info.state.subjects ?? {};
}

/** The last message stored on a subject, with its Nats-Msg-Id. */
export async function lastMessage(
  stack: FetcherStack,
  family: Family,
  subject: string,
): Promise<{ msgId: string | undefined; json: Record<string, unknown> }> {
  const msg = await stack.jsm.streams.getMessage(stack.subjects.streamName(family), {
    last_by_subj: subject,
  });
  if (!msg) throw new Error(`no message on ${subject}`);
  return { msgId: msg.header?.get('Nats-Msg-Id'), json: msg.json<Record<string, unknown>>() };
}

/** Waits until the shared consumer has nothing pending or unacknowledged: every delivery has been handled. */
export async function consumerIdle(stack: FetcherStack, timeoutMs = 20_000): Promise<void> {
  await eventually(async () => {
    const info = await stack.jsm.consumers.info(stack.subjects.streamName('recordings'), 'recording-fetcher');
    if (info.num_pending !== 0 || info.num_ack_pending !== 0)
      throw new Error(`consumer busy: ${info.num_pending} pending, ${info.num_ack_pending} unacked`);
  }, timeoutMs);
}
