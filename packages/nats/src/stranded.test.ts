import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@calltx/runtime';
import { Subjects } from '@calltx/events';
import { ensureDurableConsumer } from './consumer.js';
import { DEAD_LETTER_HEADERS, DeadLetters } from './dead-letters.js';
import { provisionStreams } from './streams.js';
import { REQUEUES_HEADER, StrandedMessages, type WorkQueueConsumer } from './stranded.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const ACK_WAIT_MS = 500;
const subjects = new Subjects(`t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
const logger = createLogger({ service: 'stranded-test', level: 'silent' });
const callSid = `CA${randomBytes(16).toString('hex')}`;
const audio = subjects.streamName('audio');

let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;

const finals: WorkQueueConsumer = {
  stream: audio,
  name: 'finals',
  filterSubject: subjects.allAudio('final'),
  whenStranded: 'requeue',
};
const partials: WorkQueueConsumer = {
  stream: audio,
  name: 'partials',
  filterSubject: subjects.allAudio('partial'),
  whenStranded: 'drop',
};

beforeAll(async () => {
  nc = await connect({ servers: NATS_URL });
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await provisionStreams(jsm, subjects, ['audio', 'deadletter'], logger);
  // One delivery each, so a delivery that is never acked strands its message, as deliveries lost to dead
  // processes and consumer leaders do with a larger max_deliver.
  for (const c of [finals, partials])
    await ensureDurableConsumer(
      jsm,
      {
        stream: audio,
        name: c.name,
        filterSubject: c.filterSubject,
        ackWaitMs: ACK_WAIT_MS,
        maxDeliver: 1,
        maxAckPending: 100,
      },
      logger,
    );
});

afterAll(async () => {
  for (const family of ['audio', 'deadletter'] as const)
    await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
  await nc.close();
});

function janitor(actions: string[], maxRequeues = 2): StrandedMessages {
  return new StrandedMessages({
    jsm,
    js,
    deadLetters: new DeadLetters(js, subjects),
    logger,
    confirmMs: 0,
    maxRequeues,
    stepDown: async (stream, consumer) => void actions.push(`step-down ${stream} ${consumer}`),
    onAction: (consumer, outcome) => actions.push(`${consumer}:${outcome}`),
  });
}

/** Fetches up to `n` messages of consumer `name`; acks those `ack` picks, leaves the rest unacked. */
async function take(name: string, n: number, ack: (seq: number) => boolean) {
  const consumer = await js.consumers.get(audio, name);
  const got: { seq: number; requeues: string | undefined }[] = [];
  for await (const m of await consumer.fetch({ max_messages: n, expires: 1_000 })) {
    got.push({ seq: m.seq, requeues: m.headers?.get(REQUEUES_HEADER) || undefined });
    if (ack(m.seq)) await m.ackAck();
  }
  return got;
}

const check = async (j: StrandedMessages, c: WorkQueueConsumer) =>
  j.check(c, await jsm.consumers.info(audio, c.name));
const onStream = async () => (await jsm.streams.info(audio)).state.messages;

describe('stranded work-queue messages', () => {
  it('requeues a final whose deliveries ran out unacked, once, even with two janitors looking', async () => {
    const first = await js.publish(subjects.audio(callSid, 'agent', 'final'), new Uint8Array([1, 2, 3]), {
      msgID: 'final-1',
    });
    await js.publish(subjects.audio(callSid, 'agent', 'final'), new Uint8Array([4]), { msgID: 'final-2' });
    const actions: string[] = [];
    const [a, b] = [janitor(actions), janitor(actions)];

    // Held, not yet given up: above the ack floor, left alone.
    expect((await take(finals.name, 1, () => false)).map((m) => m.seq)).toEqual([first.seq]);
    await check(a, finals);
    await check(a, finals);
    expect(actions).toEqual([]);

    // Its ack wait passes with no delivery left; the next one is acked, moving the floor past it.
    await sleep(ACK_WAIT_MS * 2);
    await take(finals.name, 5, () => true);
    expect(await onStream()).toBe(1);
    expect((await jsm.consumers.info(audio, finals.name)).ack_floor.stream_seq).toBeGreaterThan(first.seq);

    // Seen once by each: nothing yet. Seen again: both free it, one copy lands.
    await check(a, finals);
    await check(b, finals);
    expect(actions).toEqual([]);
    await Promise.all([check(a, finals), check(b, finals)]);
    expect(actions.filter((x) => x === 'finals:requeued').length).toBeGreaterThanOrEqual(1);
    expect(await onStream()).toBe(1);
    const copy = await take(finals.name, 5, () => true);
    expect(copy).toHaveLength(1);
    expect(copy[0]!.seq).toBeGreaterThan(first.seq);
    expect(copy[0]!.requeues).toBe('1');
    expect(await onStream()).toBe(0);
  });

  it('dead-letters a final stranded again past maxRequeues, and drops a stranded partial', async () => {
    const actions: string[] = [];
    const j = janitor(actions, 1);
    await js.publish(subjects.audio(callSid, 'technician', 'final'), new Uint8Array([9]), {
      msgID: 'final-3',
    });
    await js.publish(subjects.audio(callSid, 'technician', 'partial'), new Uint8Array([8]), {
      msgID: 'partial-1',
    });
    const strand = async (c: WorkQueueConsumer, seal: string) => {
      await take(c.name, 1, () => false);
      await sleep(ACK_WAIT_MS * 2);
      // A later message acked moves the floor past the stranded one.
      await js.publish(
        subjects.audio(callSid, 'technician', c === finals ? 'final' : 'partial'),
        new Uint8Array([0]),
        {
          msgID: seal,
        },
      );
      await take(c.name, 5, () => true);
      await check(j, c);
      await check(j, c);
    };

    // One janitor looks at both consumers of the stream in turn, as a replica does.
    await take(partials.name, 1, () => false);
    await sleep(ACK_WAIT_MS * 2);
    await js.publish(subjects.audio(callSid, 'technician', 'partial'), new Uint8Array([0]), {
      msgID: 'partial-seal',
    });
    await take(partials.name, 5, () => true);
    for (let look = 0; look < 2; look += 1) {
      await check(j, finals);
      await check(j, partials);
    }
    expect(actions).toEqual(['partials:dropped']);

    await strand(finals, 'final-seal-1');
    expect(actions).toEqual(['partials:dropped', 'finals:requeued']);
    await strand(finals, 'final-seal-2');
    expect(actions).toEqual(['partials:dropped', 'finals:requeued', 'finals:dead-lettered']);
    expect(await onStream()).toBe(0);

    const letter = await jsm.streams.getMessage(subjects.streamName('deadletter'), {
      last_by_subj: subjects.deadLetter(callSid, 'audio'),
    });
    expect(letter?.header.get(DEAD_LETTER_HEADERS.reason)).toBe('stranded');
    expect(letter?.header.get(REQUEUES_HEADER)).toBe('1');
    expect(Array.from(letter?.data ?? [])).toEqual([9]);
  });

  it('asks the leader to step down when its consumer sees nothing while the stream holds messages for it', async () => {
    const actions: string[] = [];
    const j = janitor(actions);
    await js.publish(subjects.audio(callSid, 'agent', 'final'), new Uint8Array([7]), {
      msgID: 'final-stale',
    });
    const healthy = await jsm.consumers.info(audio, finals.name);
    expect(healthy.num_pending).toBe(1);
    await check(j, finals);
    await check(j, finals);
    expect(actions).toEqual([]);

    // What a consumer leader on a replica that fell behind reports: nothing pending, the floor below the message.
    const stale = { ...healthy, num_pending: 0 };
    await j.check(finals, stale);
    expect(actions).toEqual([]);
    await j.check(finals, stale);
    expect(actions).toEqual([`step-down ${audio} finals`, 'finals:leader-stepped-down']);

    await take(finals.name, 1, () => true);
    expect(await onStream()).toBe(0);
  });
});
