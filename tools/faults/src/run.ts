import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { infraEnv, postgresForTests, s3ForTests, uniqueName } from '@calltx/devstack';
import { Subjects } from '@calltx/events';
import { createObjectStore } from '@calltx/storage';
import { createPool, type Pool } from '@calltx/db';
import { simulateCall, startFakeTwilioApi, type PreparedCallAudio } from '@calltx/twilio-sim';
import type { PlannedCall } from './calls.js';
import { collectRun, type RunRecord } from './collect.js';
import { runSchedule, type FaultLog, type NatsNodes } from './faults.js';
import { Fleet, type UnexpectedExit } from './processes.js';
import type { SchedulePlan } from './schedule.js';
import { dumpStreamState } from './stream-state.js';

export const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

const ACCOUNT_SID = `AC${'f'.repeat(32)}`;
const AUTH_TOKEN = 'faults-auth-token-0123456789abcdef';
const PUBLIC_BASE_URL = 'http://gateway.faults.invalid';
/** Replicas per service: the gateway stays single (see docs/reliability.md). */
const REPLICAS = { gateway: 1, 'stream-ingest': 2, transcriber: 2, 'recording-fetcher': 2 } as const;
/** Transcripts count as settled once nothing new was published for this long with no work queued. */
const QUIET_MS = 5_000;

/** What a variant adds to a run: where NATS is, and traffic besides the calls. */
export interface RunHooks {
  natsUrl: string;
  streamReplicas: number;
  /** NATS nodes the schedule may kill and restart (a cluster the suite started). */
  natsNodes?: NatsNodes;
  /** Each node's monitoring URL, read when a work queue did not drain. */
  monitorUrls?: readonly string[];
  /** Runs beside the calls of the faulted run (the hostile-input variant's traffic); resolves with notes. */
  alongsideCalls?: (target: {
    gatewayUrl: string;
    publicBaseUrl: string;
    accountSid: string;
    authToken: string;
  }) => Promise<string[]>;
}

export interface RunSettings {
  label: 'reference' | 'faulted';
  calls: readonly PlannedCall[];
  plan: SchedulePlan | undefined;
  speed: number;
  audio: PreparedCallAudio;
  /** Twilio's answer to each recording download waits this long, so a fetcher kill can land mid-fetch. */
  recordingDelayMs: number;
  settleTimeoutMs: number;
  logDir: string;
  hooks: RunHooks;
  log: (line: string) => void;
}

export interface RunOutcome {
  record: RunRecord;
  faults: FaultLog | undefined;
  unexpectedExits: UnexpectedExit[];
  callFailures: string[];
  /** Frames the simulator sent per call and track. */
  framesSent: Map<string, Record<'inbound' | 'outbound', number>>;
  /** What was still missing when the settle deadline passed (empty once settled). */
  unsettled: string[];
  /** From the later of the last call's end and the last restart, to settled. */
  settleMs: number;
  notes: string[];
}

/** One run: fresh prefix, schema and bucket; all four services as processes; the calls; faults if planned. */
export async function runOnce(settings: RunSettings): Promise<RunOutcome> {
  const { log, hooks } = settings;
  const prefix = uniqueName(`faults-${settings.label}`);
  const subjects = new Subjects(prefix);
  const [pg, s3, twilio] = await Promise.all([
    postgresForTests(),
    s3ForTests(),
    startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
  ]);
  const env = {
    ...infraEnv({ natsUrl: hooks.natsUrl, prefix, databaseUrl: pg.url, s3: s3.config }),
    NATS_STREAM_REPLICAS: String(hooks.streamReplicas),
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: '+15005550006',
    CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
    TWILIO_API_BASE_URL: twilio.url,
    PUBLIC_BASE_URL,
    WHISPER_MODEL_DIR: root('packages/whisper/fixtures/whisper-test-random'),
    // Two replicas share two cores: one inference thread each.
    TRANSCRIBER_THREADS: '1',
    // Partials are not compared and cost as much CPU as finals: dropped unread, as when a transcriber is behind.
    PARTIAL_MAX_AGE_MS: '0',
    // A recording callback lost to the faults (all of Twilio's retries refused) is recovered by the fetchers'
    // reconciler: 20 s after the call ends (past Twilio's 15 s of retries), well within the settle deadline.
    RECORDING_RECONCILE_AFTER_MS: '20000',
    // Live finals a cluster lost after acknowledging them are reissued by stream-ingest's audit: 3 s after a
    // call's WAVs are stored, checked again 6, 12, 24 … s after that while any is missing, and given up on 90 s
    // after (counted in the comparison), within the settle deadline.
    LIVE_FINALS_AUDIT_AFTER_MS: '3000',
    LIVE_FINALS_AUDIT_GIVE_UP_MS: '90000',
    LOG_LEVEL: 'info',
  };
  const fleet = new Fleet(join(settings.logDir, `${settings.label}.log`));
  for (const [service, count] of Object.entries(REPLICAS))
    fleet.add(service as keyof typeof REPLICAS, count, env);
  const nc = await connect({ servers: hooks.natsUrl.split(',') });
  const pool = createPool(pg.url);
  try {
    // One replica of each service first, one after another: each provisions its streams (on a cluster, creating
    // a replicated stream while others do the same can outlast the JetStream API timeout), then the rest at once.
    const [first, rest] = [
      fleet.replicas.filter((r) => r.index === 0),
      fleet.replicas.filter((r) => r.index > 0),
    ];
    for (const replica of first) await replica.start();
    await Promise.all(rest.map((r) => r.start()));
    await Promise.all(fleet.replicas.map((r) => waitReady(r.port)));
    const gateway = fleet.of('gateway')[0]!;
    const jsm = await jetstreamManager(nc);
    log(
      `${settings.label}: ${fleet.replicas.length} processes ready; ${settings.calls.length} calls at ${settings.speed}×`,
    );

    const startedAt = Date.now();
    const callFailures: string[] = [];
    const framesSent = new Map<string, Record<'inbound' | 'outbound', number>>();
    const calls = settings.calls.map(async (call) => {
      await sleep(call.offsetMs);
      try {
        const played = await simulateCall({
          publicBaseUrl: PUBLIC_BASE_URL,
          connectBaseUrl: `http://127.0.0.1:${gateway.port}`,
          accountSid: ACCOUNT_SID,
          authToken: AUTH_TOKEN,
          callSid: call.callSid,
          to: '+15005550100',
          wav: settings.audio,
          speed: settings.speed,
          recording: twilio,
          recordingFaults: { delayMs: settings.recordingDelayMs },
        });
        framesSent.set(call.callSid, played.framesSent);
      } catch (error) {
        callFailures.push(
          `call ${call.index} (${call.callSid}): ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
    const schedule = settings.plan
      ? runSchedule({ plan: settings.plan, fleet, natsNodes: hooks.natsNodes, startedAt, jsm, subjects, log })
      : Promise.resolve(undefined);
    const alongside = hooks.alongsideCalls?.({
      gatewayUrl: `http://127.0.0.1:${gateway.port}`,
      publicBaseUrl: PUBLIC_BASE_URL,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
    });
    await Promise.all(calls);
    const callsEndedAt = Date.now();
    log(`${settings.label}: calls done after ${((callsEndedAt - startedAt) / 1000).toFixed(1)} s`);
    const faults = await schedule;
    const notes = (await alongside) ?? [];

    const from = Math.max(callsEndedAt, faults?.lastRestartAt ?? 0);
    const unsettled = await waitSettled(
      jsm,
      pool,
      subjects,
      settings.calls,
      fleet,
      from + settings.settleTimeoutMs,
    );
    const settleMs = Date.now() - from - (unsettled.length === 0 ? QUIET_MS : 0);
    if (unsettled.some((line) => line.includes(subjects.streamName('audio')))) {
      const file = join(settings.logDir, `${settings.label}-audio-state.json`);
      await dumpStreamState({
        jsm,
        stream: subjects.streamName('audio'),
        monitorUrls: hooks.monitorUrls ?? [],
        file,
      });
      log(`${settings.label}: the AUDIO stream's and its consumers' state at the deadline: ${file}`);
    }
    log(
      `${settings.label}: ${unsettled.length === 0 ? `settled ${(settleMs / 1000).toFixed(1)} s after the last call or restart` : `NOT settled: ${unsettled.join('; ')}`}`,
    );

    const record = await collectRun({
      js: jetstream(nc),
      subjects,
      pool,
      store: createObjectStore(s3.config),
      callSids: settings.calls.map((c) => c.callSid),
    });
    return {
      record,
      faults,
      unexpectedExits: fleet.unexpectedExits,
      callFailures,
      framesSent,
      unsettled,
      settleMs,
      notes,
    };
  } finally {
    await fleet.stop();
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) if (name.includes(prefix)) await jsm.streams.delete(name);
    await nc.close();
    await pool.end();
    await Promise.all([pg.stop(), s3.stop(), twilio.close()]);
  }
}

async function waitReady(port: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(250);
  }
  throw new Error(`the service on port ${port} did not become ready within 120 s`);
}

/**
 * Waits until every call's stream audio and recording are stored, its live finals audited (each transcribed, or
 * given up on), no live segment or post-call job is queued, nothing new reached TRANSCRIPTS for QUIET_MS and every
 * replica is up; returns what is missing at the deadline.
 */
async function waitSettled(
  jsm: JetStreamManager,
  pool: Pool,
  subjects: Subjects,
  calls: readonly PlannedCall[],
  fleet: Fleet,
  deadline: number,
): Promise<string[]> {
  let lastSeq = -1;
  let quietSince = Date.now();
  for (;;) {
    const missing: string[] = [];
    const stored = async (stream: string, subject: string) =>
      jsm.streams.getMessage(stream, { last_by_subj: subject }).then(
        (m) => m !== null,
        () => false,
      );
    const noAudio: string[] = [];
    const noRecording: string[] = [];
    for (const { callSid } of calls) {
      if (!(await stored(subjects.streamName('calls'), subjects.call(callSid, 'audio-stored'))))
        noAudio.push(callSid);
      if (!(await stored(subjects.streamName('recordings'), subjects.recording(callSid, 'stored'))))
        noRecording.push(callSid);
    }
    if (noAudio.length)
      missing.push(`stream audio of ${noAudio.length} call(s) not stored (${noAudio.join(', ')})`);
    if (noRecording.length)
      missing.push(`recording of ${noRecording.length} call(s) not stored (${noRecording.join(', ')})`);
    // Scheduled with the WAVs (so counted once audio-stored is there): a reissue lands before the comparison.
    const audits = await pool
      .query<{ call_sid: string }>(
        'SELECT call_sid FROM call_live_finals_audits WHERE call_sid = ANY($1) AND done_at IS NULL',
        [calls.map((c) => c.callSid)],
      )
      .then(
        (r) => r.rows.map((row) => row.call_sid),
        (error: unknown) => error as Error,
      );
    if (audits instanceof Error) missing.push(`live-finals audits not readable: ${audits.message}`);
    else if (audits.length)
      missing.push(`live finals of ${audits.length} call(s) being audited (${audits.join(', ')})`);
    // On a cluster a stream may be electing a leader: its state is then unknown, not a failed run.
    const state = (family: 'audio' | 'transcribe' | 'transcripts') =>
      jsm.streams.info(subjects.streamName(family)).then(
        (info) => info.state,
        () => undefined,
      );
    for (const family of ['audio', 'transcribe'] as const) {
      const queued = (await state(family))?.messages;
      if (queued === undefined) missing.push(`${subjects.streamName(family)} not answering`);
      else if (queued > 0) missing.push(`${queued} message(s) queued on ${subjects.streamName(family)}`);
    }
    const down = fleet.replicas.filter((r) => !r.up);
    if (down.length) missing.push(`down: ${down.map((r) => r.name).join(', ')}`);
    const seq = (await state('transcripts'))?.last_seq ?? lastSeq;
    if (seq !== lastSeq) {
      lastSeq = seq;
      quietSince = Date.now();
    }
    if (missing.length === 0 && Date.now() - quietSince >= QUIET_MS) return [];
    if (Date.now() > deadline) return missing.length ? missing : ['transcripts still being published'];
    await sleep(500);
  }
}
