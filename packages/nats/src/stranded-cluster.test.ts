import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startNatsCluster, type NatsCluster } from '@calltx/devstack';
import { stepDownConsumerLeader } from './stranded.js';

let cluster: NatsCluster;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

it('hands a replicated consumer to another leader on request', async () => {
  const nc = await connect({ servers: cluster.urls as string[] });
  try {
    // Right after start (and more so on a loaded CI machine) the meta leader may not answer the
    // JetStream API yet, nor know every peer: both the first request and placing R3 wait for it.
    await cluster.waitForHealthy();
    const jsm = await eventually(() => jetstreamManager(nc, { timeout: 10_000 }), 40_000);
    await eventually(() =>
      jsm.streams.add({
        name: 'WORK',
        subjects: ['work.>'],
        retention: RetentionPolicy.Workqueue,
        num_replicas: 3,
      }),
    );
    await jsm.consumers.add('WORK', {
      durable_name: 'workers',
      ack_policy: AckPolicy.Explicit,
      num_replicas: 3,
    });
    const leader = async () => (await jsm.consumers.info('WORK', 'workers')).cluster?.leader;
    let before = await leader();
    for (let i = 0; before === undefined && i < 50; i += 1) before = await sleep(200).then(leader);
    expect(before).toBeDefined();

    await stepDownConsumerLeader(nc, 'WORK', 'workers');
    let after = await leader().catch(() => undefined);
    for (let i = 0; (after === undefined || after === before) && i < 50; i += 1)
      after = await sleep(200).then(() => leader().catch(() => undefined));
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  } finally {
    await nc.close();
  }
}, 60_000);
