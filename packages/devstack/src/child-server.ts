import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
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
  options: Pick<SpawnOptions, 'uid' | 'gid' | 'env'> = {},
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
