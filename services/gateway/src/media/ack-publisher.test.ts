import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscardPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsUrlForTests, uniqueName } from '@calltx/devstack';
import { AckPublisher, JetStreamPublishRejected } from './ack-publisher.js';

let nc: NatsConnection;
let jsm: JetStreamManager;
const stream = uniqueName('ackpub').toUpperCase();
const subject = `${stream.toLowerCase()}.frames`;

beforeAll(async () => {
  nc = await connect({ servers: natsUrlForTests() });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject], duplicate_window: 60_000_000_000 });
});
afterAll(async () => {
  await jsm.streams.delete(stream);
  await nc.close();
});

const publish = (acks: AckPublisher, to: string, msgId: string) =>
  new Promise<Error | undefined>((resolve) =>
    acks.publish(to, new TextEncoder().encode(msgId), msgId, resolve),
  );

describe('AckPublisher', () => {
  it('calls back without an error once JetStream stored the message, and stores a repeated id once', async () => {
    const acks = new AckPublisher(nc, 2_000);
    expect(await publish(acks, subject, 'a')).toBeUndefined();
    expect(await publish(acks, subject, 'a')).toBeUndefined();
    expect(await publish(acks, subject, 'b')).toBeUndefined();
    expect((await jsm.streams.info(stream)).state.messages).toBe(2);
    // The id travels as the message's only header.
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    expect(stored?.header.get('Nats-Msg-Id')).toBe('b');
    expect([...(stored?.header.keys() ?? [])]).toEqual(['Nats-Msg-Id']);
    acks.close();
  });

  it('reports a refusal when no stream takes the subject, as a retryable error', async () => {
    const acks = new AckPublisher(nc, 2_000);
    const error = await publish(acks, `${subject}.nowhere`, 'c');
    expect(error).toBeInstanceOf(JetStreamPublishRejected);
    expect(error).toMatchObject({ retryable: true });
    acks.close();
  });

  it('reports a refusal JetStream answers with an error', async () => {
    const acks = new AckPublisher(nc, 2_000);
    await jsm.streams.update(stream, { subjects: [subject], max_msgs: 2, discard: DiscardPolicy.New });
    const error = await publish(acks, subject, 'd');
    expect(error).toBeInstanceOf(JetStreamPublishRejected);
    expect(error?.message).toMatch(/maximum messages exceeded/);
    acks.close();
  });
});
