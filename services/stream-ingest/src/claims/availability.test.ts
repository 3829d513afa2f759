import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventually, LogCapture, startNatsCluster, type NatsCluster } from '@calltx/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subjects } from '@calltx/events';
import { provisionStreams } from '@calltx/nats';
import { createLogger } from '@calltx/runtime';
import { CallClaims } from './claims.js';

let cluster: NatsCluster;
let nc: NatsConnection;
beforeAll(async () => {
  cluster = await startNatsCluster(3);
  nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

const WAITING = 'JetStream unavailable, waiting for it';

describe('on a JetStream cluster without quorum', () => {
  it('stream provisioning and the claims bucket wait for the cluster, then take NATS_STREAM_REPLICAS', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ service: 'test', level: 'debug', destination: logs });
    const subjects = new Subjects('quorum');
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    // Two of three servers down: no meta leader, nothing can be created.
    await cluster.kill(1);
    await cluster.kill(2);
    await eventually(async () => expect(await cluster.metaLeader()).toBeUndefined(), 30_000);

    let settled = false;
    const provisioning = provisionStreams(jsm, subjects, ['calls'], logger, 3).finally(
      () => (settled = true),
    );
    const claims = CallClaims.open({ nc, bucket: 'QUORUM_CLAIMS', logger, replicas: 3 });
    // Observed: both have failed at least once and are waiting, not rejected.
    await eventually(() => {
      const waiting = logs.lines.filter((line) => line.msg === WAITING).map((line) => line.what);
      expect(waiting).toContain('stream quorum_CALLS');
      expect(waiting).toContain('claims bucket QUORUM_CLAIMS');
    }, 30_000);
    expect(settled).toBe(false);

    await cluster.restart(1);
    await cluster.restart(2);
    await provisioning;
    const opened = await claims;
    expect((await jsm.streams.info(subjects.streamName('calls'))).config.num_replicas).toBe(3);
    expect((await jsm.streams.info('KV_QUORUM_CLAIMS')).config.num_replicas).toBe(3);
    expect(await opened.claim('CA1')).not.toBeNull();
    await opened.releaseAll();
  }, 120_000);

  it('an existing one-replica claims bucket is raised to NATS_STREAM_REPLICAS', async () => {
    const logger = createLogger({ service: 'test', level: 'warn', destination: new LogCapture() });
    await CallClaims.open({ nc, bucket: 'R1_CLAIMS', logger });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('KV_R1_CLAIMS')).config.num_replicas).toBe(1);
    await CallClaims.open({ nc, bucket: 'R1_CLAIMS', logger, replicas: 3 });
    expect((await jsm.streams.info('KV_R1_CLAIMS')).config.num_replicas).toBe(3);
  }, 60_000);
});
