import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. /bucket/key?uploads */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface RecordingProxy {
  /** http://127.0.0.1:<port>: use it in place of the target. */
  endpoint: string;
  /** Every request passed on so far, in arrival order. */
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of `target` (e.g. the test S3 server) that notes each request's method, URL and headers
 * and passes it on unchanged, Host included (so request signatures still verify). For tests of what a client
 * sends that the server does not keep, such as the server-side encryption headers s3rver ignores.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    requests.push({ method: incoming.method ?? 'GET', url: incoming.url ?? '/', headers: incoming.headers });
    const upstream = request(
      { hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
