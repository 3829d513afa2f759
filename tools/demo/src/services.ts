import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVICE_NAMES = ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher', 'api'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface RunningService {
  name: ServiceName;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const COLORS: Record<ServiceName, string> = {
  gateway: '36',
  'stream-ingest': '35',
  transcriber: '33',
  'recording-fetcher': '32',
  api: '34',
};
const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

export const entryOf = (name: ServiceName) =>
  fileURLToPath(new URL(`../../../services/${name}/dist/main.js`, import.meta.url));
export const isBuilt = (name: ServiceName) => existsSync(entryOf(name));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts one service from its build, relaying its JSON log lines as short coloured lines. */
export function startService(name: ServiceName, port: number, env: Record<string, string>): RunningService {
  const child = spawn(process.execPath, [entryOf(name)], {
    env: { ...process.env, ...env, PORT: String(port), LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tag = `\x1b[${COLORS[name]}m${name.padEnd(17)}\x1b[0m`;
  const relay = (line: string) => {
    try {
      const {
        level,
        msg,
        time: _time,
        service: _service,
        pid: _pid,
        hostname: _host,
        ...fields
      } = JSON.parse(line) as Record<string, unknown>;
      const detail = Object.entries(fields)
        .filter(([, value]) => typeof value !== 'object' || value === null)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' ');
      const levelName = LEVELS[level as number] ?? String(level);
      if ((level as number) >= 30)
        console.log(
          `${tag} ${levelName === 'info' ? '' : `${levelName} `}${String(msg)} \x1b[2m${detail}\x1b[0m`,
        );
    } catch {
      console.log(`${tag} ${line}`);
    }
  };
  createInterface({ input: child.stdout! }).on('line', relay);
  createInterface({ input: child.stderr! }).on('line', relay);
  return {
    name,
    port,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Resolves when /readyz answers 200; rejects if the process exits first or time runs out. */
export async function waitReady(service: RunningService, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null)
      throw new Error(`${service.name} exited with code ${service.child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${service.port}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${service.name} did not become ready within ${timeoutMs / 1000} s`);
}
