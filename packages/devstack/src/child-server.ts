import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { EmbeddedServerError } from './errors.js';

/**
 * A server runs under this sh guard, whose stdin is a pipe from us. When that pipe closes, because stop()
 * closed it or because this process died in any way (SIGKILL, or a test runner's SIGTERM, both of which skip
 * 'exit' handlers), the guard stops the server: no server outlives its owner.
 */
const GUARD_SCRIPT = [
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

/** The executable `name`: the first one on `searchPath`, else in one of `fallbacks`; `installHint` if none. */
export function findExecutable(
  name: string,
  installHint: string,
  searchPath: string,
  fallbacks: readonly string[],
): string {
  const candidates = [
    ...searchPath
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name)),
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
  if (!found)
    throw new EmbeddedServerError(
      `${name} was not found on PATH nor in ${fallbacks.join(', ')}. ${installHint}`,
    );
  return found;
}

/** Starts `binary args` under the guard; stderr is piped for the caller to read (it must keep reading it). */
export function spawnGuarded(
  binary: string,
  args: readonly string[],
  options: Pick<SpawnOptions, 'uid' | 'gid' | 'env' | 'cwd'> = {},
): ChildProcess {
  return spawn('/bin/sh', ['-c', GUARD_SCRIPT, `${binary}-guard`, binary, ...args], {
    ...options,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** Stops a guarded server (SIGKILL after 5 s) and waits for it. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end(); // the guard then stops the server and exits with it
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves once 127.0.0.1:`port` accepts a TCP connection. */
export async function waitForTcp(name: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) =>
      reject(
        new EmbeddedServerError(`${name} does not accept connections on port ${port}`, { cause: error }),
      ),
    );
  });
}

/** A port that was free a moment ago, for servers that cannot pick one themselves and report it. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Distinct ports that were free a moment ago (a cluster needs its route ports before any server starts). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * The uid and gid to run Postgres tools as: they refuse to run as root, so as root they run as the `postgres`
 * account (which Debian's postgresql and pgbouncer packages create); as anyone else, as that user.
 */
export async function postgresAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.startsWith('postgres:'));
  const [, , uid, gid] = entry?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new EmbeddedServerError(
      "running as root, but there is no `postgres` account to run Postgres tools as. Install Debian's " +
        'postgresql or pgbouncer package (which create it), or run as another user.',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Resolves once the child logs a line matching `ready` on stderr; rejects, with its last log lines, if it exits
 * or stays silent for `timeoutMs`.
 */
export async function waitForLogLine(
  child: ChildProcess,
  name: string,
  ready: RegExp,
  timeoutMs: number,
): Promise<void> {
  await readLogUntil(child, name, (line) => (ready.test(line) ? true : undefined), timeoutMs);
}

/**
 * Feeds the child's stderr lines to `read` until it returns a value, and resolves with it; rejects, with the last
 * log lines, if the child exits or `read` has returned nothing within `timeoutMs`. Keeps reading stderr for the
 * child's whole life: a full pipe would block it.
 */
export function readLogUntil<T>(
  child: ChildProcess,
  name: string,
  read: (line: string) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const fail = (reason: string, cause?: unknown): void => {
      clearTimeout(timer);
      reject(new EmbeddedServerError(`${name} ${reason}. Last log lines:\n${tail.join('\n')}`, { cause }));
    };
    const timer = setTimeout(() => fail(`did not become ready within ${timeoutMs} ms`), timeoutMs);
    const onError = (error: Error): void => fail('could not be started', error);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited during start-up (code ${code}, signal ${signal})`);
    child.once('error', onError);
    child.once('exit', onExit);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      const value = read(line);
      if (value !== undefined) {
        clearTimeout(timer);
        child.off('error', onError);
        child.off('exit', onExit);
        resolve(value);
      }
    });
  });
}
