import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface FetcherProcess {
  child: ChildProcess;
  baseUrl: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs the real entry point (TypeScript through tsx) as a child process, configured by env only. */
export async function spawnFetcher(env: Record<string, string>): Promise<FetcherProcess> {
  const child = spawn(process.execPath, ['--conditions=@calltx/source', '--import', 'tsx', MAIN], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'debug', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'recording-fetcher listening') resolve(entry.port as number);
    });
    void exited.then((code) => reject(new Error(`recording-fetcher exited with ${code}: ${stderr}`)));
  });
  return { child, baseUrl: `http://127.0.0.1:${port}`, logs, exited };
}
