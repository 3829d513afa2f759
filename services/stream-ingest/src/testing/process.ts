import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface IngestProcess {
  child: ChildProcess;
  port: number;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  /** CallSids this process logged as claimed. */
  claimed(): string[];
}

/** Runs the real stream-ingest entry point (TypeScript through tsx) as a child process, configured by env only. */
export async function spawnIngest(env: Record<string, string>): Promise<IngestProcess> {
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
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'stream-ingest listening') resolve(entry.port as number);
    });
    void exited.then((code) => reject(new Error(`stream-ingest exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    port,
    logs,
    exited,
    claimed: () => logs.filter((l) => l.msg === 'call claimed').map((l) => l.callSid as string),
  };
}

/** SIGKILL: no shutdown hook runs, nothing is flushed or released. */
export async function kill(ingest: IngestProcess): Promise<void> {
  ingest.child.kill('SIGKILL');
  await ingest.exited;
}
