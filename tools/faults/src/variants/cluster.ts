import { startNatsCluster } from '@calltx/devstack';
import type { RunHooks } from '../run.js';

const NODES = 3;

/**
 * The NATS-cluster variant: the services get every node's URL and provision streams with 3 replicas. Given URLs
 * (--nats-urls / FAULTS_NATS_URLS) are used as they are; otherwise devstack starts a local 3-node JetStream
 * cluster, whose nodes the schedule kills and restarts too.
 */
export async function clusterHooks(urls: string): Promise<RunHooks & { stop(): Promise<void> }> {
  if (urls) return { natsUrl: urls, streamReplicas: NODES, stop: async () => undefined };
  const cluster = await startNatsCluster(NODES, { binary: process.env.NATS_SERVER_BIN || undefined });
  return {
    natsUrl: cluster.url,
    streamReplicas: NODES,
    natsNodes: {
      count: NODES,
      isUp: (i) => cluster.isRunning(i),
      kill: (i) => cluster.kill(i),
      start: (i) => cluster.restart(i),
    },
    monitorUrls: cluster.monitorUrls,
    stop: () => cluster.stop(),
  };
}
