import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MediaHostResponse {
  status?: number;
  body: Buffer;
  headers?: Record<string, string>;
}

/**
 * A storage-like host a download can be redirected to: serves whatever bytes a test puts at a path (including
 * files Twilio would never serve) and records every request with its headers.
 */
export interface MediaHost {
  url: string;
  serve(path: string, response: MediaHostResponse): string;
  readonly requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function startMediaHost(): Promise<MediaHost> {
  const responses = new Map<string, MediaHostResponse>();
  const requests: MediaHost['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    const response = responses.get(req.url ?? '');
    if (!response) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(response.status ?? 200, {
      'content-type': 'audio/x-wav',
      'content-length': String(response.body.length),
      ...response.headers,
    });
    res.end(response.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    serve(path, response) {
      responses.set(path, response);
      return `${url}${path}`;
    },
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
