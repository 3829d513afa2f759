import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVICES = ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** One JSON log line of a service, with the replica and process that wrote it. */
export interface LogLine {
  replica: string;
  pid: number;
  /** Epoch ms (the services log ISO times). */
  time: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** A process exit nobody asked for: the suite fails on any. */
export interface UnexpectedExit {
  replica: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

const RESTART_AFTER_CRASH_MS = 1_000;

const entryOf = (name: ServiceName) =>
  fileURLToPath(new URL(`../../../services/${name}/dist/main.js`, import.meta.url));

/** One replica slot (e.g. `stream-ingest#1`): the process in it now, restarted in place after a kill. */
export class Replica {
  child: ChildProcess | undefined;
  port = 0;
  private expectedExit = false;

  constructor(
    readonly service: ServiceName,
    readonly index: number,
    private readonly env: Record<string, string>,
    private readonly fleet: Fleet,
  ) {}

  get name(): string {
    return `${this.service}#${this.index}`;
  }

  get up(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the built service and resolves once it logs `<service> listening`. */
  async start(): Promise<void> {
    this.expectedExit = false;
    const child = spawn(process.execPath, [entryOf(this.service)], {
      env: { ...process.env, ...this.env, PORT: '0', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const log = this.fleet.logFile;
    let stderr = '';
    child.stderr!.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString()).slice(-4000);
      log?.write(`${this.name} stderr ${data.toString()}`);
    });
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.expectedExit) {
          this.fleet.unexpectedExits.push({
            replica: this.name,
            pid: child.pid ?? -1,
            code,
            signal,
            at: Date.now(),
          });
          this.fleet.restartLater(this);
        }
        resolve();
      }),
    );
    this.port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log?.write(`${this.name} ${line}\n`);
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        const { msg, time, ...fields } = parsed;
        const entry = {
          replica: this.name,
          pid: child.pid ?? -1,
          time: typeof time === 'number' ? time : Date.parse(String(time)),
          msg: String(msg),
          fields,
        };
        this.fleet.logs.push(entry);
        if (entry.msg === `${this.service} listening`) resolve(fields.port as number);
      });
      void exited.then(() => reject(new Error(`${this.name} exited before listening: ${stderr}`)));
    });
  }

  /** SIGKILL, as the schedule asks: this exit is expected. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** SIGTERM at the end of a run. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  private signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.up) return Promise.resolve();
    this.expectedExit = true;
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

/** Every service process of one run, their log lines and the exits nobody caused. */
export class Fleet {
  readonly replicas: Replica[] = [];
  readonly logs: LogLine[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly logFile: WriteStream | undefined;
  private stopping = false;

  constructor(logPath?: string) {
    this.logFile = logPath ? createWriteStream(logPath) : undefined;
    // Services must not outlive the suite, however it ends.
    process.once('exit', () => this.replicas.forEach((r) => r.child?.kill('SIGKILL')));
  }

  add(service: ServiceName, count: number, env: Record<string, string>): Replica[] {
    const added = Array.from({ length: count }, (_, i) => new Replica(service, i, env, this));
    this.replicas.push(...added);
    return added;
  }

  of(service: ServiceName): Replica[] {
    return this.replicas.filter((r) => r.service === service);
  }

  /**
   * A process that died by itself is restarted after a second, as its orchestrator would, so the run goes on at
   * full strength (the exit stays on the list and fails the suite).
   */
  restartLater(replica: Replica): void {
    if (this.stopping) return;
    setTimeout(() => {
      if (!this.stopping && !replica.up) replica.start().catch(() => undefined);
    }, RESTART_AFTER_CRASH_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.replicas.map((r) => r.stop()));
    await new Promise<void>((resolve) => (this.logFile ? this.logFile.end(resolve) : resolve()));
  }
}
