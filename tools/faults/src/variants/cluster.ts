import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsNodes } from '../faults.js';
import type { RunHooks } from '../run.js';

const NODES = 3;

/**
 * The NATS-cluster variant: the services get every node's URL and provision streams with 3 replicas. Given URLs
 * (--nats-urls / FAULTS_NATS_URLS) are used as they are; otherwise a local 3-node JetStream cluster is started
 * (a stand-in until packages/devstack has its own cluster starter), whose nodes the schedule kills too.
 */
export async function clusterHooks(
  urls: string,
  dataDir: string,
): Promise<RunHooks & { stop(): Promise<void> }> {
  if (urls) return { natsUrl: urls, streamReplicas: NODES, stop: async () => undefined };
  const cluster = await startLocalCluster(dataDir);
  return {
    natsUrl: cluster.urls.join(','),
    streamReplicas: NODES,
    natsNodes: cluster.nodes,
    stop: () => cluster.stop(),
  };
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

async function startLocalCluster(
  dataDir: string,
): Promise<{ urls: string[]; nodes: NatsNodes; stop(): Promise<void> }> {
  await rm(dataDir, { recursive: true, force: true });
  const clientPorts = await Promise.all(Array.from({ length: NODES }, freePort));
  const routePorts = await Promise.all(Array.from({ length: NODES }, freePort));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`);
  const children: Array<ChildProcess | undefined> = [];
  const up = (i: number) => {
    const child = children[i];
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  };
  const signal = (i: number, name: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const child = children[i];
      if (!child || !up(i)) return resolve();
      child.once('exit', () => resolve());
      child.kill(name);
    });
  // Restarted in place: same ports and store, so the node rejoins with what it held.
  const start = async (i: number) => {
    const dir = join(dataDir, `n${i}`);
    await mkdir(dir, { recursive: true });
    const args = ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(clientPorts[i]), '-n', `faults-n${i}`];
    args.push(
      '--cluster_name',
      'faults',
      '--cluster',
      `nats://127.0.0.1:${routePorts[i]}`,
      '--routes',
      routes,
    );
    children[i] = spawn(process.env.NATS_SERVER_BIN || 'nats-server', args, { stdio: 'ignore' });
    await untilAnswering(urls[i]!);
  };
  const nodes: NatsNodes = { count: NODES, isUp: up, kill: (i) => signal(i, 'SIGKILL'), start };
  const stop = async () => {
    await Promise.all(children.map((_, i) => signal(i, 'SIGTERM')));
    await rm(dataDir, { recursive: true, force: true });
  };
  process.once('exit', () => children.forEach((child) => child?.kill('SIGKILL')));
  // Nodes wait for their routes, so they start together.
  await Promise.all(Array.from({ length: NODES }, (_, i) => start(i)));
  // Ready once the JetStream meta group has a leader: account info answers.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: urls, timeout: 1_000 });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        return { urls, nodes, stop };
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

/** Resolves once the node accepts a client connection. */
async function untilAnswering(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await (await connect({ servers: url, timeout: 1_000, reconnect: false })).close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}
