import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Child {
  process: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a Node entry point (with `nodeFlags`, then any in $BENCH_NODE_ARGS), pinned to `cores` (a taskset list)
 * when given, and waits for the JSON log line that carries its port.
 */
export async function startChild(
  entry: string,
  env: Record<string, string>,
  listeningMessage: string,
  nodeFlags: readonly string[] = [],
  cores?: string,
): Promise<Child> {
  const node = [
    process.execPath,
    ...nodeFlags,
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    entry,
  ];
  const [command, ...args] = cores === undefined ? node : ['taskset', '-c', cores, ...node];
  const child = spawn(command!, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === listeningMessage && entry.port) resolve(entry.port);
      } catch {
        // not a JSON log line
      }
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
  });
  return {
    process: child,
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
