import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, readLogUntil, spawnGuarded, terminate, waitForTcp } from '../child-server.js';

export interface EmbeddedNatsOptions {
  /** JetStream store directory; a temporary one (removed on stop) when unset. */
  dataDir?: string;
  /** Client port; a free one when unset. */
  port?: number;
  /** Path of the nats-server binary; else found on PATH or in /usr/sbin. */
  binary?: string;
  startTimeoutMs?: number;
  /** TLS only: clients must speak TLS and present a certificate signed by `caFile` (PEM files). */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface EmbeddedNats {
  /** nats://127.0.0.1:<port>, or tls://127.0.0.1:<port> with `tls` */
  url: string;
  stop(): Promise<void>;
}

const FALLBACK_LOCATIONS = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'];

/** The nats-server executable: the first one on `searchPath`, else in one of `fallbacks`. */
export function findNatsServerBinary(
  searchPath = process.env.PATH ?? '',
  fallbacks = FALLBACK_LOCATIONS,
): string {
  return findExecutable(
    'nats-server',
    'Install it with `apt-get install -y nats-server` (Debian/Ubuntu), or set NATS_URL to a running NATS ' +
      'server with JetStream enabled.',
    searchPath,
    fallbacks,
  );
}

/** Runs a private nats-server with JetStream on 127.0.0.1, for the demo and for tests. */
export async function startEmbeddedNats(options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  const binary = options.binary ?? findNatsServerBinary();
  const ownDir = options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'calltx-nats-')) : undefined;
  const storeDir = options.dataDir ?? ownDir!;
  // -p -1 lets nats-server pick a free port itself (no probe-then-bind race); we read it from its log.
  const args = ['-js', '-a', '127.0.0.1', '-p', String(options.port ?? -1), '-sd', storeDir];
  const { tls } = options;
  if (tls) {
    args.push('--tlsverify', '--tlscert', tls.certFile, '--tlskey', tls.keyFile, '--tlscacert', tls.caFile);
  }
  const child = spawnGuarded(binary, args);

  const removeDir = async (): Promise<void> => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await waitUntilListening(child, options.startTimeoutMs ?? 10_000);
    await waitForTcp('nats-server', port);
  } catch (error) {
    await terminate(child);
    await removeDir();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `${tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    stop: () =>
      (stopping ??= (async () => {
        await terminate(child);
        await removeDir();
      })()),
  };
}

/** The port nats-server reports listening on, once it says it is ready. */
function waitUntilListening(child: ChildProcess, timeoutMs: number): Promise<number> {
  let port: number | undefined;
  return readLogUntil(
    child,
    'nats-server',
    (line) => {
      const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(line);
      if (listening) port = Number(listening[1]);
      return line.includes('Server is ready') ? port : undefined;
    },
    timeoutMs,
  );
}
