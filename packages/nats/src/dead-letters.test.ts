import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@calltx/devstack';
import { ConfigError } from '@calltx/config';
import { createLogger } from '@calltx/runtime';
import { CalltxError, CallEvent, callEvents, encodeEvent } from '@calltx/events';
import { consumerMetrics } from './consumer-metrics.js';
import { ensureDurableConsumer, startDurableConsumer, type RunningConsumer } from './consumer.js';
import { DEAD_LETTER_HEADERS, replayDeadLetters } from './dead-letters.js';
import { provisionStreams } from './streams.js';
import { Subjects } from '@calltx/events';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const CONSUMER = 'lifecycle-test';
const MAX_DELIVER = 3;
const subjects = new Subjects(`t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
const logger = createLogger({ service: 'dead-letter-test', level: 'silent' });
const callSid = () => `CA${randomBytes(16).toString('hex')}`;

let nc: NatsConnection;
let jsm: JetStreamManager;
let running: RunningConsumer;
const registry = new Registry();
const metrics = consumerMetrics(registry);
/** How the handler treats each call: the test decides, per CallSid. */
const behaviour = new Map<string, 'ok' | 'throw' | 'fail-for-good'>();
const handled: string[] = [];
const deliveries = new Map<string, number>();

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL });
  jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, subjects, ['calls', 'deadletter'], logger);
  running = await startDurableConsumer({
    jsm,
    js: jetstream(nc),
    subjects,
    spec: {
      stream: subjects.streamName('calls'),
      name: CONSUMER,
      filterSubject: subjects.all('calls'),
      ackWaitMs: 30_000,
      maxDeliver: MAX_DELIVER,
      maxAckPending: 100,
    },
    schema: CallEvent,
    logger,
    metrics,
    redelivery: { attempts: Infinity, baseMs: 20, capMs: 20, jitter: 0 },
    async handle(event) {
      deliveries.set(event.callSid, (deliveries.get(event.callSid) ?? 0) + 1);
      const how = behaviour.get(event.callSid) ?? 'ok';
      // A driver's error (not a CalltxError) is presumed transient: retried until deliveries run out.
      if (how === 'throw') throw new Error('invalid input syntax for type timestamp with time zone');
      if (how === 'fail-for-good') throw new CalltxError('refused for good', { retryable: false });
      handled.push(event.callSid);
    },
  });
});

afterAll(async () => {
  await running?.stop();
  for (const family of ['calls', 'deadletter'] as const)
    await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
  await nc.close();
});

const js = () => jetstream(nc);
const started = (sid: string) =>
  encodeEvent(
    callEvents.started({
      callSid: sid,
      accountSid: `AC${'1'.repeat(32)}`,
      at: new Date().toISOString(),
      from: 'client:agent',
      to: '+14155550123',
      direction: 'inbound',
    }),
  );

async function deadLetters(sid: string) {
  const stream = subjects.streamName('deadletter');
  const found = [];
  for (let seq = 1; seq <= (await jsm.streams.info(stream)).state.last_seq; seq += 1) {
    const stored = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (stored?.subject === subjects.deadLetter(sid, 'calls')) found.push(stored);
  }
  return found;
}

const counted = async (name: string, labels: Record<string, string>) =>
  (
    await (
      registry.getSingleMetric(name) as {
        get(): Promise<{ values: Array<{ labels: object; value: number }> }>;
      }
    ).get()
  ).values
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, string>)[k] === x))
    .reduce((sum, v) => sum + v.value, 0);

async function consumerSettled() {
  await eventually(async () => {
    const info = await jsm.consumers.info(subjects.streamName('calls'), CONSUMER);
    expect(info.num_pending + info.num_ack_pending + info.num_redelivered).toBe(0);
  });
}

describe('dead letters', () => {
  it('refuses a consumer without a bound on deliveries', async () => {
    await expect(
      ensureDurableConsumer(
        jsm,
        {
          stream: subjects.streamName('calls'),
          name: 'unbounded',
          filterSubject: subjects.all('calls'),
          ackWaitMs: 1_000,
          maxDeliver: -1,
          maxAckPending: 1,
        },
        logger,
      ),
    ).rejects.toThrow(ConfigError);
  });

  it('keeps an invalid message (a NUL Postgres would refuse) with its reason and origin, delivered once', async () => {
    const sid = callSid();
    const body = JSON.parse(new TextDecoder().decode(started(sid))) as Record<string, unknown>;
    body.from = 'client:agent\u00007';
    const subject = subjects.call(sid, 'started');
    const ack = await js().publish(subject, JSON.stringify(body), { msgID: `${sid}:started` });
    await eventually(async () => expect(await deadLetters(sid)).toHaveLength(1));
    const [letter] = await deadLetters(sid);
    expect(letter!.header.get(DEAD_LETTER_HEADERS.reason)).toBe('invalid');
    expect(letter!.header.get(DEAD_LETTER_HEADERS.error)).toMatch(/from: must not contain a NUL character/);
    expect(letter!.header.get(DEAD_LETTER_HEADERS.subject)).toBe(subject);
    expect(letter!.header.get(DEAD_LETTER_HEADERS.stream)).toBe(subjects.streamName('calls'));
    expect(letter!.header.get(DEAD_LETTER_HEADERS.seq)).toBe(String(ack.seq));
    expect(letter!.header.get(DEAD_LETTER_HEADERS.consumer)).toBe(CONSUMER);
    expect(letter!.header.get(DEAD_LETTER_HEADERS.deliveries)).toBe('1');
    expect(letter!.header.get(DEAD_LETTER_HEADERS.msgId)).toBe(`${sid}:started`);
    expect(letter!.json()).toEqual(body);
    await consumerSettled();
    expect(
      await counted('calltx_consumer_dead_letters_total', { consumer: CONSUMER, reason: 'invalid' }),
    ).toBe(1);
  });

  it('retries a failing message up to maxDeliver, then dead-letters it instead of redelivering forever', async () => {
    const sid = callSid();
    behaviour.set(sid, 'throw');
    await js().publish(subjects.call(sid, 'started'), started(sid));
    await eventually(async () => expect(await deadLetters(sid)).toHaveLength(1));
    const [letter] = await deadLetters(sid);
    expect(letter!.header.get(DEAD_LETTER_HEADERS.reason)).toBe('max-deliveries');
    expect(letter!.header.get(DEAD_LETTER_HEADERS.deliveries)).toBe(String(MAX_DELIVER));
    expect(letter!.header.get(DEAD_LETTER_HEADERS.error)).toMatch(/invalid input syntax/);
    await consumerSettled();
    expect(deliveries.get(sid)).toBe(MAX_DELIVER);
    expect(
      await counted('calltx_consumer_dead_letters_total', { consumer: CONSUMER, reason: 'max-deliveries' }),
    ).toBe(1);
  });

  it('dead-letters a permanent failure on its first delivery', async () => {
    const sid = callSid();
    behaviour.set(sid, 'fail-for-good');
    await js().publish(subjects.call(sid, 'started'), started(sid));
    await eventually(async () => expect(await deadLetters(sid)).toHaveLength(1));
    expect((await deadLetters(sid))[0]!.header.get(DEAD_LETTER_HEADERS.reason)).toBe('failed');
    await consumerSettled();
    expect(deliveries.get(sid)).toBe(1);
  });

  it('replays dead letters to their original subject, where they are handled, and removes them', async () => {
    const sid = callSid();
    behaviour.set(sid, 'throw');
    await js().publish(subjects.call(sid, 'started'), started(sid), { msgID: `${sid}:started` });
    await eventually(async () => expect(await deadLetters(sid)).toHaveLength(1));
    await consumerSettled();

    const filterSubject = subjects.deadLetter(sid, 'calls');
    const listed = await replayDeadLetters({ js: js(), jsm, subjects, filterSubject, dryRun: true });
    expect(listed).toMatchObject([{ subject: subjects.call(sid, 'started'), reason: 'max-deliveries' }]);
    expect(await deadLetters(sid)).toHaveLength(1);
    expect(await replayDeadLetters({ js: js(), jsm, subjects, filterSubject, consumer: 'other' })).toEqual(
      [],
    );

    behaviour.set(sid, 'ok'); // the cause is fixed
    const replayed = await replayDeadLetters({ js: js(), jsm, subjects, filterSubject });
    expect(replayed).toHaveLength(1);
    // Within the original's duplicate window, yet not swallowed as a duplicate of it.
    await eventually(() => expect(handled).toContain(sid));
    expect(await deadLetters(sid)).toEqual([]);
  });
});
