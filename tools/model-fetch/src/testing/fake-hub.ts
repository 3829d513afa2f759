import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

export interface HubRequest {
  method: string;
  path: string;
  range: string | undefined;
  /** Body bytes sent (GET only). */
  bytesSent: number;
}

interface HubFile {
  bytes: Buffer;
  sha256: string;
  /** Served like Git LFS: a redirect to /cdn/<sha256> carrying X-Linked-Size and X-Linked-ETag. */
  lfs: boolean;
}

export interface FakeHub {
  url: string;
  commit: string;
  requests: HubRequest[];
  /** The next GET of this file sends this many bytes of it, then drops the connection. */
  cutNextTransfer(file: string, afterBytes: number): void;
  /** Every GET of this file serves one flipped byte (the announced sha256 stays the original's). */
  corrupt(file: string): void;
  /** HEAD announces this size for the file instead of the real one. */
  misreportSize(file: string, size: number): void;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Hugging Face hub's `/<repo>/resolve/<revision>/<file>` endpoint, serving the files
 * of a directory the way the hub does: small files directly with a git ETag, `.onnx` files as LFS objects
 * (`.onnx` and `.onnx_data`: redirect to a CDN path, X-Linked-Size / X-Linked-ETag = sha256), Range requests, X-Repo-Commit, and 401
 * for unknown repositories.
 */
export async function startFakeHub(repos: Record<string, string>): Promise<FakeHub> {
  const files = new Map<string, Map<string, HubFile>>();
  const bySha = new Map<string, { repo: string; file: string }>();
  for (const [repo, dir] of Object.entries(repos)) {
    const entries = new Map<string, HubFile>();
    for (const path of await walk(dir)) {
      const bytes = await readFile(path);
      const file = relative(dir, path).split('\\').join('/');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      entries.set(file, { bytes, sha256, lfs: /\.onnx(_data)?$/.test(file) });
      bySha.set(sha256, { repo, file });
    }
    files.set(repo, entries);
  }
  const commit = createHash('sha1')
    .update(JSON.stringify([...bySha.keys()]))
    .digest('hex');
  const requests: HubRequest[] = [];
  const cuts = new Map<string, number>();
  const corrupted = new Set<string>();
  const misreported = new Map<string, number>();

  const handle = (req: IncomingMessage, res: ServerResponse, record: HubRequest) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn) {
      const found = bySha.get(cdn[1]!);
      if (!found) return void res.writeHead(404).end();
      return serveBytes(req, res, record, found.file, files.get(found.repo)!.get(found.file)!);
    }
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = match ? files.get(match[1]!) : undefined;
    if (!match || !repo) return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
    const [, , revision, name] = match;
    const file = repo.get(name!);
    if ((revision !== 'main' && revision !== commit) || !file)
      return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    const size = misreported.get(name!) ?? file.bytes.length;
    if (file.lfs) {
      res
        .writeHead(302, {
          location: `/cdn/${file.sha256}`,
          'x-repo-commit': commit,
          'x-linked-size': String(size),
          'x-linked-etag': `"${file.sha256}"`,
          etag: `"${file.sha256}"`,
        })
        .end();
      return;
    }
    const gitSha = createHash('sha1').update(`blob ${file.bytes.length}\0`).update(file.bytes).digest('hex');
    if (req.method === 'HEAD') {
      res
        .writeHead(200, { 'content-length': String(size), etag: `"${gitSha}"`, 'x-repo-commit': commit })
        .end();
      return;
    }
    serveBytes(req, res, record, name!, file);
  };

  const serveBytes = (
    req: IncomingMessage,
    res: ServerResponse,
    record: HubRequest,
    name: string,
    file: HubFile,
  ) => {
    let bytes = file.bytes;
    if (corrupted.has(name)) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1]! ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= bytes.length && range) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    const body = bytes.subarray(start);
    const headers: Record<string, string> = {
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
    };
    if (range) headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = cuts.get(name);
    if (cut !== undefined) {
      cuts.delete(name);
      const sent = body.subarray(0, cut);
      record.bytesSent += sent.length;
      // Flush what was sent, then drop the connection mid-body.
      res.write(sent, () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    record.bytesSent += body.length;
    res.end(body);
  };

  const server = createServer((req, res) => {
    const record: HubRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      range: req.headers.range,
      bytesSent: 0,
    };
    requests.push(record);
    handle(req, res, record);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    commit,
    requests,
    cutNextTransfer: (file, afterBytes) => cuts.set(file, afterBytes),
    corrupt: (file) => corrupted.add(file),
    misreportSize: (file, size) => misreported.set(file, size),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
