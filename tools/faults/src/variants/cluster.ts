import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { RunHooks } from '../run.js';

const NODES = 3;

/**
 * The NATS-cluster variant: the services get every node's URL and provision streams with 3 replicas. Given URLs
 * (--nats-urls / FAULTS_NATS_URLS) are used as they are; otherwise a local 3-node JetStream cluster is started
 * (a stand-in until packages/devstack has its own cluster starter).
 */
export async function clusterHooks(
  urls: string,
  dataDir: string,
): Promise<RunHooks & { stop(): Promise<void> }> {
  if (urls) return { natsUrl: urls, streamReplicas: NODES, stop: async () => undefined };
  const cluster = await startLocalCluster(dataDir);
  return { natsUrl: cluster.urls.join(','), streamReplicas: NODES, stop: () => cluster.stop() };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startLocalCluster(dataDir: string): Promise<{ urls: string[]; stop(): Promise<void> }> {
  await rm(dataDir, { recursive: true, force: true });
  const clientPorts = await Promise.all(Array.from({ length: NODES }, freePort));
  const routePorts = await Promise.all(Array.from({ length: NODES }, freePort));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const children: ChildProcess[] = [];
  for (let i = 0; i < NODES; i += 1) {
    const dir = join(dataDir, `n${i}`);
    await mkdir(dir, { recursive: true });
    children.push(
      spawn(
        process.env.NATS_SERVER_BIN || 'nats-server',
        [
          '-js',
          '-sd',
          dir,
          '-a',
          '127.0.0.1',
          '-p',
          String(clientPorts[i]),
          '-n',
          `faults-n${i}`,
          '--cluster_name',
          'faults',
          '--cluster',
          `nats://127.0.0.1:${routePorts[i]}`,
          '--routes',
          routes,
        ],
        { stdio: 'ignore' },
      ),
    );
  }
  const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`);
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await rm(dataDir, { recursive: true, force: true });
  };
  // Ready once the JetStream meta group has a leader: account info answers.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: urls, timeout: 1_000 });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        return { urls, stop };
      } finally {
        await nc.close();
      }
    } catch {
      await sleep(500);
    }
  }
  await stop();
  throw new Error('the local NATS cluster did not elect a JetStream leader within 30 s');
}
