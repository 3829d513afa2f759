import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** Every JSON log line the process wrote, parsed (non-JSON lines as `{ msg }`). */
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/**
 * Runs a service's real entry point (TypeScript through tsx, workspace packages from source) as a child process,
 * configured by env only, and resolves once it logs `<service> listening` with its port (PORT=0 picks a free one).
 * Rejects with the process's stderr if it exits first.
 */
export async function spawnService(
  entry: string,
  service: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--conditions=@calltx/source', '--import', 'tsx', entry], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'debug', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { msg: line };
      }
      logs.push(parsed);
      if (parsed.msg === `${service} listening`) resolve(parsed.port as number);
    });
    void exited.then((code) => reject(new Error(`${service} exited with ${code}: ${stderr}`)));
  });
  return { child, port, baseUrl: `http://127.0.0.1:${port}`, logs, exited };
}
