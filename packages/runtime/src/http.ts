import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => boolean | Promise<boolean>;

/**
 * How long a client may take to send a request's headers, and the whole request with its body. Every request the
 * services take is small (webhooks, API calls, probes): a client slower than this is holding a socket, not
 * uploading. Responses (SSE, downloads) are not bounded by these.
 */
export interface RequestTimeouts {
  headersMs: number;
  requestMs: number;
}

export const DEFAULT_REQUEST_TIMEOUTS: RequestTimeouts = { headersMs: 10_000, requestMs: 30_000 };

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
  timeouts = DEFAULT_REQUEST_TIMEOUTS,
}: {
  registry: Registry;
  checks: Record<string, ReadinessCheck>;
  timeouts?: RequestTimeouts;
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

  const server = createServer(
    {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      // Node checks the two timeouts on this interval (30 s by default), so it bounds how late they fire.
      connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
    },
    app,
  );
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
