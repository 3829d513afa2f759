import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ServiceHttp {
  app: Express;
  server: Server;
  /** Binds the port; resolves with the bound port (useful with PORT=0). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting connections and closes idle keep-alive sockets; resolves when all requests finished. */
  close(): Promise<void>;
}

/**
 * The operational surface every service shares: `/healthz` (the process is alive), `/readyz` (every dependency
 * check passes; 503 naming the failing ones otherwise) and `/metrics` (Prometheus). Services mount their own
 * routes on `app` before calling `listen`.
 */
export function createServiceHttp({
  registry,
  checks,
}: {
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
}): ServiceHttp {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  let stopping = false;

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(
        async ([name, check]) => [name, await Promise.resolve(check()).catch(() => false)] as const,
      ),
    );
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (stopping) failing.push('shutting-down');
    res
      .status(failing.length === 0 ? 200 : 503)
      .json({ status: failing.length === 0 ? 'ready' : 'not-ready', failing });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  const server = createServer(app);
  server.keepAliveTimeout = 65_000; // beyond typical load balancer idle timeouts

  return {
    app,
    server,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    close() {
      stopping = true;
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
