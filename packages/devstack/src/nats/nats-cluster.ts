import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedServerError } from '../errors.js';
import { freePorts, spawnGuarded, waitForLogLine } from '../child-server.js';
import { findNatsServerBinary } from './embedded-nats.js';

export interface NatsClusterOptions {
  /** Path of the nats-server binary; else found on PATH or in /usr/sbin. */
  binary?: string;
  startTimeoutMs?: number;
  /**
   * Keeps each server's log, at debug level, in `<logDir>/<server name>.log` (appended across restarts), to see
   * why a server stays unhealthy. Default: `NATS_CLUSTER_LOG_DIR` when set, else no log is kept.
   */
  logDir?: string;
}

export interface NatsCluster {
  /** Client URL of each server, by index (stable across kill/restart). */
  readonly urls: readonly string[];
  /** All client URLs comma-separated: what a service's NATS_URL gets. */
  readonly url: string;
  /** `server_name` of each server, by index. */
  readonly names: readonly string[];
  /** Monitoring endpoint of each server (`/healthz`, `/jsz`, `/connz`), by index. */
  readonly monitorUrls: readonly string[];
  /** SIGKILLs server `i` (no shutdown, no flush); resolves once it is gone. */
  kill(i: number): Promise<void>;
  /** Starts server `i` again on the same ports and store directory; resolves once it accepts clients. */
  restart(i: number): Promise<void>;
  /** Index of the server that says it leads `stream` (account $G); undefined while none does. */
  streamLeader(stream: string): Promise<number | undefined>;
  /** Index of the JetStream meta leader, or undefined while there is none. */
  metaLeader(): Promise<number | undefined>;
  /** Resolves once every running server (or only `i`) answers `/healthz` with 200: JetStream current. */
  waitForHealthy(i?: number, timeoutMs?: number): Promise<void>;
  /** Whether server `i` answers `/healthz` with 200 right now. */
  isHealthy(i: number): Promise<boolean>;
  isRunning(i: number): boolean;
  stop(): Promise<void>;
}

interface Node {
  name: string;
  clientPort: number;
  clusterPort: number;
  monitorPort: number;
  configFile: string;
  pidFile: string;
  child?: ChildProcess;
  exited?: Promise<void>;
}

/**
 * A JetStream cluster of `n` nats-servers on 127.0.0.1 (routes between all, a store directory each), for tests
 * and benchmarks that kill servers. Resolves once a meta leader is elected.
 */
export async function startNatsCluster(n = 3, options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const binary = options.binary ?? findNatsServerBinary();
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const logDir = options.logDir ?? (process.env.NATS_CLUSTER_LOG_DIR || undefined);
  if (logDir) await mkdir(logDir, { recursive: true });
  const root = await mkdtemp(join(tmpdir(), 'calltx-nats-cluster-'));
  const nodes: Node[] = [];
  const ports = await freePorts(3 * n);
  for (let i = 0; i < n; i += 1) {
    const dir = join(root, `n${i}`);
    await mkdir(dir);
    nodes.push({
      name: `n${i}`,
      clientPort: ports[3 * i]!,
      clusterPort: ports[3 * i + 1]!,
      monitorPort: ports[3 * i + 2]!,
      configFile: join(dir, 'nats.conf'),
      pidFile: join(dir, 'nats.pid'),
    });
  }
  const routes = nodes.map((node) => `nats-route://127.0.0.1:${node.clusterPort}`);
  for (const [i, node] of nodes.entries()) {
    await writeFile(
      node.configFile,
      [
        `server_name: ${node.name}`,
        `listen: 127.0.0.1:${node.clientPort}`,
        `http: 127.0.0.1:${node.monitorPort}`,
        `pid_file: "${node.pidFile}"`,
        `debug: ${logDir !== undefined}`,
        `jetstream { store_dir: "${join(root, `n${i}`, 'js')}" }`,
        'cluster {',
        '  name: calltx',
        `  listen: 127.0.0.1:${node.clusterPort}`,
        `  routes: [${routes.filter((_, j) => j !== i).join(', ')}]`,
        '}',
      ].join('\n'),
    );
  }

  const launch = async (node: Node): Promise<void> => {
    const child = spawnGuarded(binary, ['-c', node.configFile]);
    node.child = child;
    node.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    if (logDir) child.stderr?.pipe(createWriteStream(join(logDir, `${node.name}.log`), { flags: 'a' }));
    await waitForLogLine(child, `nats-server ${node.name}`, /Server is ready/, startTimeoutMs);
  };
  const check = (i: number): Node => {
    const node = nodes[i];
    if (!node) throw new EmbeddedServerError(`no server ${i} in a cluster of ${n}`);
    return node;
  };
  const running = (node: Node) =>
    node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null;
  const jsz = async (node: Node, query = ''): Promise<JszReply | undefined> => {
    try {
      const res = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz${query}`);
      return res.ok ? ((await res.json()) as JszReply) : undefined;
    } catch {
      return undefined;
    }
  };
  const indexOf = (name: string | undefined) => {
    const i = nodes.findIndex((node) => node.name === name);
    return i < 0 ? undefined : i;
  };
  /** undefined when server `i` answers `/healthz` with 200, else why not (its `error`, e.g. which stream lags). */
  const unhealthy = async (i: number): Promise<string | undefined> => {
    const node = check(i);
    if (!running(node)) return 'not running';
    try {
      const res = await fetch(`http://127.0.0.1:${node.monitorPort}/healthz`);
      if (res.ok) return undefined;
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      return body.error ?? `HTTP ${res.status}`;
    } catch (error) {
      return String(error);
    }
  };
  const isHealthy = async (i: number) => (await unhealthy(i)) === undefined;

  const cluster: NatsCluster = {
    urls: nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`),
    url: nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`).join(','),
    names: nodes.map((node) => node.name),
    monitorUrls: nodes.map((node) => `http://127.0.0.1:${node.monitorPort}`),
    async kill(i) {
      const node = check(i);
      if (!running(node)) return;
      const pid = Number((await readFile(node.pidFile, 'utf8')).trim());
      process.kill(pid, 'SIGKILL');
      await node.exited;
    },
    async restart(i) {
      const node = check(i);
      if (running(node)) throw new EmbeddedServerError(`server ${node.name} is running`);
      await launch(node);
    },
    async streamLeader(stream) {
      for (const node of nodes.filter(running)) {
        const reply = await jsz(node, '?accounts=true&streams=true');
        for (const account of reply?.account_details ?? [])
          for (const detail of account.stream_detail ?? [])
            if (detail.name === stream && detail.cluster?.leader === node.name) return indexOf(node.name);
      }
      return undefined;
    },
    async metaLeader() {
      for (const node of nodes.filter(running)) {
        if ((await jsz(node))?.meta_cluster?.leader === node.name) return indexOf(node.name);
      }
      return undefined;
    },
    isHealthy,
    isRunning: (i) => running(check(i)),
    async waitForHealthy(i, timeoutMs = 60_000) {
      const targets = i === undefined ? nodes.map((_, j) => j).filter((j) => running(nodes[j]!)) : [i];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reasons = await Promise.all(targets.map(unhealthy));
        if (reasons.every((reason) => reason === undefined)) return;
        if (Date.now() > deadline)
          throw new EmbeddedServerError(
            `servers ${targets.join(',')} not healthy within ${timeoutMs} ms: ${reasons
              .map((reason, j) => (reason === undefined ? '' : `${nodes[targets[j]!]!.name}: ${reason}`))
              .filter(Boolean)
              .join('; ')}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      await Promise.all(nodes.map((node) => stopNode(node)));
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(nodes.map(launch));
    const deadline = Date.now() + startTimeoutMs;
    while ((await cluster.metaLeader()) === undefined) {
      if (Date.now() > deadline)
        throw new EmbeddedServerError('the cluster elected no JetStream meta leader');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

interface JszReply {
  meta_cluster?: { leader?: string };
  account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }>;
}

async function stopNode(node: Node): Promise<void> {
  const child = node.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end(); // the guard stops nats-server and exits with it
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await node.exited;
  clearTimeout(timer);
}
