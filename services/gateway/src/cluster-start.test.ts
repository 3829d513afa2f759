import { startNatsCluster, type NatsCluster, type ServiceProcess } from '@calltx/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  CALLER_ID,
  CALLER_NUMBER_HASH_KEY,
  PUBLIC_BASE_URL,
  eventually,
} from './testing/harness.js';
import { spawnGateway } from './testing/process.js';

let cluster: NatsCluster;
let gateway: ServiceProcess | undefined;
beforeAll(async () => {
  cluster = await startNatsCluster(3);
}, 60_000);
afterAll(async () => {
  gateway?.child.kill('SIGTERM');
  await gateway?.exited;
  await cluster?.stop();
});

/** Messages the server received from the gateway's connection: JetStream API requests, here. */
async function requestsFromGateway(server: number): Promise<number> {
  const res = await fetch(`${cluster.monitorUrls[server]}/connz`);
  const { connections } = (await res.json()) as { connections: Array<{ name?: string; in_msgs: number }> };
  return connections.find((connection) => connection.name === 'gateway')?.in_msgs ?? 0;
}

describe('gateway process on a JetStream cluster', () => {
  it('started while JetStream has no quorum, waits for it instead of exiting, then listens', async () => {
    await cluster.kill(1);
    await cluster.kill(2);
    await eventually(async () => expect(await cluster.metaLeader()).toBeUndefined(), 30_000);

    const starting = spawnGateway({
      // Only the surviving server: the gateway connects and its JetStream requests go unanswered.
      NATS_URL: cluster.urls[0]!,
      NATS_SUBJECT_PREFIX: 'quorumstart',
      NATS_STREAM_REPLICAS: '3',
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_CALLER_ID: CALLER_ID,
      CALLER_NUMBER_HASH_KEY,
      PUBLIC_BASE_URL,
    });
    // Observed: three JetStream requests failed or went unanswered (the first attempt and two retries), and
    // the process neither exited nor listened meanwhile.
    let quorumBack = false;
    await Promise.race([
      eventually(async () => expect(await requestsFromGateway(0)).toBeGreaterThanOrEqual(3), 60_000),
      starting.then(() => {
        if (!quorumBack) throw new Error('the gateway listened without JetStream');
      }),
    ]);

    quorumBack = true;
    await cluster.restart(1);
    await cluster.restart(2);
    gateway = await starting;
    await eventually(
      async () => expect((await fetch(`${gateway!.baseUrl}/readyz`)).status).toBe(200),
      30_000,
    );
  }, 120_000);
});
