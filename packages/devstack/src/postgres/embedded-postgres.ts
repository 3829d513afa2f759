import { PGlite } from '@electric-sql/pglite';
import { PgliteWireServer } from './pglite-wire-server.js';

export interface EmbeddedPostgresOptions {
  /** Where PGlite keeps its files; in memory when unset. */
  dataDir?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** See PgliteWireServerOptions.lockWaitTimeoutMs (default 30 s). */
  lockWaitTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres — no password, no TLS. */
  url: string;
  stop(): Promise<void>;
}

/** A Postgres (PGlite, in-process WASM) reachable over TCP by any pg client, several connections at once. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const db = await PGlite.create({ dataDir: options.dataDir });
  const server = new PgliteWireServer({
    db,
    port: options.port,
    lockWaitTimeoutMs: options.lockWaitTimeoutMs,
  });
  let port: number;
  try {
    port = await server.listen();
  } catch (error) {
    await db.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () =>
      (stopping ??= (async () => {
        await server.close();
        await db.close();
      })()),
  };
}
