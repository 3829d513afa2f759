import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { eventually } from '../testing/assertions.js';
import { startNatsCluster } from './nats-cluster.js';

describe('startNatsCluster', () => {
  it('runs a JetStream cluster whose servers can be killed and restarted', async () => {
    const cluster = await startNatsCluster(3);
    const nc = await connect({
      servers: cluster.urls as string[],
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    try {
      expect(cluster.urls).toHaveLength(3);
      expect(await cluster.metaLeader()).toBeTypeOf('number');
      const created = (
        await nc.request(
          '$JS.API.STREAM.CREATE.R3TEST',
          JSON.stringify({ name: 'R3TEST', subjects: ['r3test.>'], num_replicas: 3 }),
          { timeout: 10_000 },
        )
      ).json<{ error?: unknown; config?: { num_replicas: number } }>();
      expect(created.error).toBeUndefined();
      expect(created.config?.num_replicas).toBe(3);

      const leader = await eventually(async () => {
        const index = await cluster.streamLeader('R3TEST');
        expect(index).toBeTypeOf('number');
        return index!;
      });
      await cluster.kill(leader);
      expect(cluster.isRunning(leader)).toBe(false);
      expect(await cluster.isHealthy(leader)).toBe(false);
      const next = await eventually(async () => {
        const index = await cluster.streamLeader('R3TEST');
        expect(index).toBeTypeOf('number');
        return index!;
      }, 20_000);
      expect(next).not.toBe(leader);

      await cluster.restart(leader);
      await cluster.waitForHealthy(leader);
      expect(await cluster.isHealthy(leader)).toBe(true);
    } finally {
      await nc.close();
      await cluster.stop();
    }
  }, 60_000);
});
