import { fileURLToPath } from 'node:url';
import { spawnService, type ServiceProcess } from '@calltx/devstack';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface IngestProcess extends ServiceProcess {
  /** CallSids this process logged as claimed. */
  claimed(): string[];
}

/** The real stream-ingest entry point as a child process, configured by env only. */
export async function spawnIngest(env: Record<string, string>): Promise<IngestProcess> {
  const ingest = await spawnService(MAIN, 'stream-ingest', env);
  return {
    ...ingest,
    claimed: () => ingest.logs.filter((l) => l.msg === 'call claimed').map((l) => l.callSid as string),
  };
}

/** SIGKILL: no shutdown hook runs, nothing is flushed or released. */
export async function kill(ingest: IngestProcess): Promise<void> {
  ingest.child.kill('SIGKILL');
  await ingest.exited;
}
