import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { EmbeddedServerError } from '../errors.js';

export interface EmbeddedNatsOptions {
  /** JetStream store directory; a temporary one (removed on stop) when unset. */
  dataDir?: string;
  /** Client port; a free one when unset. */
  port?: number;
  /** Path of the nats-server binary; else found on PATH or in /usr/sbin. */
  binary?: string;
  startTimeoutMs?: number;
}

export interface EmbeddedNats {
  /** nats://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/**
 * nats-server runs under this sh guard, whose stdin is a pipe from us. When that pipe closes, because
 * stop() closed it or because this process died in any way (SIGKILL, or a test runner's SIGTERM, both of
 * which skip 'exit' handlers), the guard stops the server: no server outlives its owner.
 */
export const GUARD_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'server=$!',
  '(cat <&3 >/dev/null; kill -TERM "$server" 2>/dev/null) &',
  'watcher=$!',
  'wait "$server"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

const FALLBACK_LOCATIONS = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'];
const LOG_TAIL_LINES = 20;

/** The nats-server executable: the first one on `searchPath`, else in one of `fallbacks`. */
export function findNatsServerBinary(
  searchPath = process.env.PATH ?? '',
  fallbacks = FALLBACK_LOCATIONS,
): string {
  const candidates = [
    ...searchPath
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'nats-server')),
    ...fallbacks,
  ];
  const found = candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) {
    throw new EmbeddedServerError(
      'nats-server was not found on PATH nor in /usr/sbin. Install it with `apt-get install -y nats-server` ' +
        '(Debian/Ubuntu), or set NATS_URL to a running NATS server with JetStream enabled.',
    );
  }
  return found;
}

/** Runs a private nats-server with JetStream on 127.0.0.1, for the demo and for tests. */
export async function startEmbeddedNats(options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  const binary = options.binary ?? findNatsServerBinary();
  const ownDir = options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'calltx-nats-')) : undefined;
  const storeDir = options.dataDir ?? ownDir!;
  // -p -1 lets nats-server pick a free port itself (no probe-then-bind race); we read it from its log.
  const args = ['-js', '-a', '127.0.0.1', '-p', String(options.port ?? -1), '-sd', storeDir];
  const child = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'nats-server-guard', binary, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });

  const removeDir = async (): Promise<void> => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await waitUntilListening(child, options.startTimeoutMs ?? 10_000);
    await waitForTcp(port);
  } catch (error) {
    await terminate(child);
    await removeDir();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: () =>
      (stopping ??= (async () => {
        await terminate(child);
        await removeDir();
      })()),
  };
}

function waitUntilListening(child: ChildProcess, timeoutMs: number): Promise<number> {
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    const fail = (reason: string, cause?: unknown): void => {
      clearTimeout(timer);
      reject(
        new EmbeddedServerError(`nats-server ${reason}. Last log lines:\n${tail.join('\n')}`, { cause }),
      );
    };
    const timer = setTimeout(() => fail(`did not become ready within ${timeoutMs} ms`), timeoutMs);
    const onError = (error: Error): void => fail('could not be started', error);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited during start-up (code ${code}, signal ${signal})`);
    child.once('error', onError);
    child.once('exit', onExit);
    // Keep reading stderr for the server's whole life: a full pipe would block its logging.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(line);
      if (listening) port = Number(listening[1]);
      if (line.includes('Server is ready') && port !== undefined) {
        clearTimeout(timer);
        child.off('error', onError);
        child.off('exit', onExit);
        resolve(port);
      }
    });
  });
}

async function waitForTcp(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) =>
      reject(
        new EmbeddedServerError(`nats-server does not accept connections on port ${port}`, { cause: error }),
      ),
    );
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end(); // the guard then stops nats-server and exits with it
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
