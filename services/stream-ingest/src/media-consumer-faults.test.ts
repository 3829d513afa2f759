import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy } from '@nats-io/jetstream';
import { isMediaConsumerOf, mediaConsumerName } from './calls/media-consumer.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { SyntheticCall } from './testing/synthetic-call.js';
import { expectExactWavs } from './testing/wav-assert.js';

/**
 * A call's media consumer failing its owner while the call is live, as a NATS cluster can: a delivery lost in
 * flight (the owner sees the delivery sequence skip, staged by a second client taking one delivery), a replacement
 * consumer that cannot be made at once, and the consumer vanishing from the server. Each time the owner consumes
 * again through a consumer of the next generation from the ack floor, and the WAVs hold every frame.
 */
describe('the media consumer failing a live call', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env, {});
  });

  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  /** The call's media consumers on the server, of every generation. */
  async function consumersOf(callSid: string): Promise<string[]> {
    const names: string[] = [];
    for await (const c of env.jsm.consumers.list(env.subjects.streamName('media')))
      if (isMediaConsumerOf(c.name, callSid)) names.push(c.name);
    return names;
  }

  /** A call streaming its first second, and the name of its owner's media consumer. */
  async function liveCall(): Promise<{ call: SyntheticCall; name: string }> {
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    await call.stream(0, 1_000, 5);
    const name = await eventually(async () => {
      const owner = (await consumersOf(call.callSid))[0];
      expect(owner).toBeDefined();
      return owner!;
    });
    return { call, name };
  }

  it('loses a delivery in flight: read again from the ack floor by a new consumer, made again when making it fails', async () => {
    const { call, name } = await liveCall();
    const media = env.subjects.streamName('media');
    // The name the owner's replacement will take is held by a consumer JetStream cannot turn into it (another
    // ack policy): the first replacement fails, as one during a leader election would, and is retried under the
    // next generation.
    const generation = Number(name.slice(`ingest_${call.callSid}`.length + 1) || 0);
    await env.jsm.consumers.add(media, {
      durable_name: mediaConsumerName(call.callSid, generation + 1),
      filter_subject: env.subjects.all('media', `CA${'0'.repeat(32)}`),
      ack_policy: AckPolicy.None,
    });
    const consumer = await env.js.consumers.get(media, name);
    const stolen = consumer.next({ expires: 30_000 });
    let taken = false;
    void stolen.then((msg) => (taken = msg !== null));
    let ts = 1_000;
    while (!taken && ts < 30_000) {
      await call.stream(ts, ts + 100, 5);
      ts += 100;
    }
    expect(taken).toBe(true);
    await call.stream(ts, ts + 1_000, 5);
    await call.stop();
    await eventually(
      async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
      30_000,
    );
    const said = (msg: string) => ingest.logs.lines.some((l) => l.msg === msg && l.callSid === call.callSid);
    expect(said('media deliveries lost in flight: consuming again from the ack floor')).toBe(true);
    expect(said('media consumer not replaced; retrying')).toBe(true);
    expect(await consumersOf(call.callSid)).toEqual([]);
    const files = await env.repo.files(call.callSid);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
  }, 60_000);

  it('vanishes from the server: the call is consumed again', async () => {
    const { call, name } = await liveCall();
    const media = env.subjects.streamName('media');
    // What a NATS 2.9.10 cluster can do to a replicated consumer (docs/reliability.md), or an operator by mistake.
    await env.jsm.consumers.delete(media, name);
    await call.stream(1_000, 3_000, 5);
    await call.stop();
    await eventually(
      async () => expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized'),
      30_000,
    );
    expect(
      ingest.logs.lines.some(
        (l) =>
          l.msg === 'media consumption ended while the call is live: consuming again' &&
          l.callSid === call.callSid,
      ),
    ).toBe(true);
    const files = await env.repo.files(call.callSid);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
    expect(await consumersOf(call.callSid)).toEqual([]);
  }, 60_000);
});
