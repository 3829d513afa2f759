import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '@calltx/api';
import { eventually } from '@calltx/devstack';
import { callEvents, type Family, type Subjects } from '@calltx/events';
import { createObjectStore, type ObjectStore } from '@calltx/storage';
import { newSid } from '@calltx/twilio-sim';
import { RANDOM_MODEL, SAMPLE_CALL, System } from './testing/system.js';

/**
 * Erasure end to end, every service a process: two simulated calls (stream WAVs, a recording with its splits,
 * live and recording transcripts, rows in every service's tables, messages in every stream); one is erased while
 * stream-ingest is down and the api is SIGKILLed midway, both restarted; afterwards nothing of it is left in
 * the bucket, any table (tombstones, api_erasures and audit rows aside: the CallSid only), any stream (the ERASURE
 * stream and its one `erased` event aside) or at Twilio, while the other call is whole. Then retention erases a
 * call that ended before RETENTION_DAYS and keeps a younger one.
 */
const KEY = 'erasure-test-api-key-0123456789abcdef';
const FAMILIES: Family[] = [
  'calls',
  'media',
  'audio',
  'transcripts',
  'recordings',
  'transcribe',
  'deadletter',
];
/** Where a CallSid may stay: the tombstones and the erasure's own row (the CallSid only), and the audit trail. */
const KEPT_TABLES = [
  'ingest_erased_calls',
  'transcriber_erased_calls',
  'fetcher_erased_calls',
  'api_erasures',
  'api_audit',
];

let system: System;
let subjects: Subjects;
let pool: pg.Pool;
let store: ObjectStore;
let nc: NatsConnection;
let jsm: JetStreamManager;
/** The test's schema, named by the search_path its database URL sets. */
let schema: string;

beforeAll(async () => {
  system = await System.start({
    label: 'erase',
    env: {
      WHISPER_MODEL_DIR: RANDOM_MODEL,
      API_KEYS: `eraser:${hashApiKey(KEY)}:calls:read transcripts:read recordings:read calls:delete`,
      RETENTION_DAYS: '2',
      ERASURE_SWEEP_INTERVAL_SECONDS: '1',
      ERASURE_RESUME_AFTER_SECONDS: '5',
    },
    twilioApi: true,
  });
  subjects = system.subjects;
  pool = new pg.Pool({ connectionString: system.databaseUrl, max: 2 });
  schema = (await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
  store = createObjectStore(system.s3);
  nc = await connect({ servers: system.natsUrl });
  jsm = await jetstreamManager(nc);
  for (const name of ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher', 'api'] as const)
    await system.start(name);
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await system?.stop();
});

const erase = (callSid: string) =>
  fetch(`${system.url('api')}/api/v1/calls/${callSid}`, {
    method: 'DELETE',
    headers: { 'x-api-key': KEY },
  });

const count = async (sql: string, params: unknown[]) =>
  Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);

/** Every place the run left the CallSid: objects, rows of every table, messages (subject, headers, body). */
async function traces(callSid: string): Promise<string[]> {
  const found: string[] = [];
  for await (const object of store.list(''))
    if (object.key.includes(callSid)) found.push(`object ${object.key}`);
  const { rows: tables } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
    [schema],
  );
  expect(tables.length).toBeGreaterThan(15);
  for (const { table_name: table } of tables) {
    const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM "${schema}"."${table}" t`);
    for (const { row } of rows) {
      if (!row.includes(callSid)) continue;
      // A kept row holds the CallSid and nothing personal (an audit row: who erased it, when, the result).
      if (KEPT_TABLES.includes(table)) continue;
      found.push(`table ${table}: ${row}`);
    }
  }
  for (const family of FAMILIES) {
    const stream = subjects.streamName(family);
    // Per-subject counts: every message of MEDIA too, whose bodies are frames.
    const info = await jsm.streams.info(stream, { subjects_filter: '>' });
    for (const [subject, n] of Object.entries(info.state.subjects ?? {}))
      if (subject.includes(callSid) && subject !== subjects.call(callSid, 'erased'))
        found.push(`${stream}: ${n} × ${subject}`);
    if (family === 'media') continue;
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!msg || msg.subject === subjects.call(callSid, 'erased')) continue;
      const headers = msg.header ? [...msg.header.keys()].map((k) => `${k}: ${msg.header!.get(k)}`) : [];
      if ([...headers, msg.string()].join('\n').includes(callSid))
        found.push(`${stream} #${seq} (${msg.subject})`);
    }
  }
  return found;
}

async function twilioLists(callSid: string): Promise<string[]> {
  const res = await fetch(
    `${system.twilioApi.url}/2010-04-01/Accounts/${system.accountSid}/Recordings.json?CallSid=${callSid}`,
    {
      headers: {
        authorization: `Basic ${Buffer.from(`${system.accountSid}:${system.authToken}`).toString('base64')}`,
      },
    },
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { recordings: Array<{ sid: string }> }).recordings.map((r) => r.sid);
}

/** Everything each service makes of a call is stored, in every table that holds it. */
async function whole(callSid: string): Promise<void> {
  await eventually(async () => {
    expect(await count('call_stream_files WHERE call_sid = $1', [callSid])).toBeGreaterThan(0);
    expect(
      await count('recording_objects o JOIN recordings r USING (recording_sid) WHERE r.call_sid = $1', [
        callSid,
      ]),
    ).toBe(3);
    expect(
      await count(`transcript_segments WHERE call_sid = $1 AND source = 'live'`, [callSid]),
    ).toBeGreaterThan(0);
    expect(
      await count(`transcript_segments WHERE call_sid = $1 AND source = 'recording'`, [callSid]),
    ).toBeGreaterThan(0);
    expect(await count('call_settings WHERE call_sid = $1', [callSid])).toBe(1);
    expect(
      await count(
        'api_calls WHERE call_sid = $1 AND (ended_at IS NOT NULL OR stream_stopped_at IS NOT NULL)',
        [callSid],
      ),
    ).toBe(1);
    expect(await count(`api_recordings WHERE call_sid = $1 AND status = 'stored'`, [callSid])).toBe(1);
    expect(
      await count(`api_transcript_segments WHERE call_sid = $1 AND source = 'recording'`, [callSid]),
    ).toBeGreaterThan(0);
    expect(await count('api_call_stream_files WHERE call_sid = $1', [callSid])).toBeGreaterThan(0);
  }, 240_000);
}

describe('erasing a call', () => {
  it('leaves nothing of it, after a crash midway, and the other call whole', async () => {
    const [erased, kept] = [newSid('CA'), newSid('CA')];
    const calls = await Promise.all(
      [erased, kept].map((callSid) =>
        system.call({ callSid, wav: SAMPLE_CALL, speed: 4, recording: system.twilioApi }),
      ),
    );
    await Promise.all([whole(erased), whole(kept)]);
    expect(await traces(erased)).not.toEqual([]);

    expect((await erase(`CA${'0'.repeat(31)}`)).status).toBe(400);
    expect((await erase(newSid('CA'))).status).toBe(404);

    // stream-ingest down: the others erase their part and confirm; then the api dies before it finishes.
    await system.kill('stream-ingest', 'SIGKILL');
    const first = await erase(erased);
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ callSid: erased, state: 'requested' });
    await eventually(async () => {
      const { rows } = await pool.query<{ confirmed: string[] }>(
        'SELECT confirmed FROM api_erasures WHERE call_sid = $1',
        [erased],
      );
      expect([...rows[0]!.confirmed].sort()).toEqual(['recording-fetcher', 'transcriber']);
    }, 60_000);
    await system.kill('api', 'SIGKILL');
    await system.start('stream-ingest');
    await system.start('api');
    await eventually(async () => {
      expect(await count(`api_erasures WHERE call_sid = $1 AND state = 'erased'`, [erased])).toBe(1);
    }, 60_000);

    expect(await traces(erased)).toEqual([]);
    // Once, whatever the crash and the requests asked again.
    const erasedEvents = await jsm.streams.info(subjects.streamName('calls'), {
      subjects_filter: subjects.call(erased, 'erased'),
    });
    expect(erasedEvents.state.subjects).toEqual({ [subjects.call(erased, 'erased')]: 1 });
    expect(await twilioLists(erased)).toEqual([]);
    expect(system.twilioApi.hasRecording(calls[0]!.recordingSid!)).toBe(false);

    // Asked again: answered from its row, nothing published again.
    const again = await erase(erased);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ callSid: erased, state: 'erased' });
    const { rows: audit } = await pool.query<{ action: string; status: number }>(
      `SELECT action, status FROM api_audit WHERE call_sid = $1 AND action = 'call.erase' ORDER BY id`,
      [erased],
    );
    expect(audit).toEqual([
      { action: 'call.erase', status: 202 },
      { action: 'call.erase', status: 202 },
    ]);

    // The other call is untouched: its objects, rows, messages and recording at Twilio.
    await whole(kept);
    expect((await traces(kept)).length).toBeGreaterThan(10);
    expect(await twilioLists(kept)).toEqual([calls[1]!.recordingSid]);

    // The call's late events are ignored: a replay of its start and end brings nothing back.
    const js = jetstream(nc);
    const at = new Date().toISOString();
    await js.publish(
      subjects.call(erased, 'ended'),
      JSON.stringify(callEvents.ended({ callSid: erased, at, status: 'completed' })),
    );
    // Handled by every consumer of the call's end (none left pending or unacknowledged).
    await eventually(async () => {
      for (const consumer of ['api-calls', 'stream-ingest', 'recording-fetcher-ended-calls']) {
        const info = await jsm.consumers.info(subjects.streamName('calls'), consumer);
        expect(info.num_pending + info.num_ack_pending).toBe(0);
      }
    });
    expect(await count('api_calls WHERE call_sid = $1', [erased])).toBe(0);
    expect(await count('calls WHERE call_sid = $1', [erased])).toBe(0);
    await jsm.streams.purge(subjects.streamName('calls'), { filter: subjects.call(erased, 'ended') });
  }, 600_000);

  it('erases a call that ended before RETENTION_DAYS and keeps a younger one', async () => {
    const [old, young] = [newSid('CA'), newSid('CA')];
    const js = jetstream(nc);
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    for (const [callSid, days] of [
      [old, 3],
      [young, 1],
    ] as const) {
      await js.publish(
        subjects.call(callSid, 'ended'),
        JSON.stringify(callEvents.ended({ callSid, at: daysAgo(days), status: 'completed' })),
      );
    }
    await eventually(async () => {
      expect(
        await count(`api_erasures WHERE call_sid = $1 AND state = 'erased' AND actor = 'retention'`, [old]),
      ).toBe(1);
    }, 60_000);
    expect(await traces(old)).toEqual([]);
    expect(await count('api_calls WHERE call_sid = $1', [young])).toBe(1);
    expect(await count('api_erasures WHERE call_sid = $1', [young])).toBe(0);
  }, 120_000);
});
