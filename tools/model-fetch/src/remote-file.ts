import { DownloadError, ModelFetchError, RemoteFileNotFoundError } from './errors.js';

export interface RemoteFile {
  /** Where to GET the bytes (the hub's URL; redirects are followed on GET). */
  url: string;
  size: number;
  /** Known for files stored in Git LFS (the hub's X-Linked-ETag / ETag); undefined for small git files. */
  sha256: string | undefined;
  /** The commit the hub resolved `main` to (X-Repo-Commit), when it says. */
  commit: string | undefined;
}

const MAX_REDIRECTS = 5;
const SHA256 = /^(?:W\/)?"?([0-9a-f]{64})"?$/;

/**
 * Size and checksum of a file on the hub, from a HEAD request. For LFS files the hub answers a redirect to
 * its CDN carrying X-Linked-Size and X-Linked-ETag (the sha256); the redirect is not followed because the
 * CDN's own headers say less. Other files answer 200 (or a same-host redirect) with Content-Length.
 */
export async function probeRemoteFile(url: string, signal?: AbortSignal): Promise<RemoteFile> {
  let current = url;
  let commit: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Response;
    try {
      response = await fetch(current, {
        method: 'HEAD',
        redirect: 'manual',
        headers: { 'accept-encoding': 'identity' },
        signal,
      });
    } catch (cause) {
      throw new DownloadError(`HEAD ${current} failed`, cause);
    }
    commit ??= response.headers.get('x-repo-commit') ?? undefined;
    const linkedSize = response.headers.get('x-linked-size');
    const etag = response.headers.get('x-linked-etag') ?? response.headers.get('etag');
    const sha256 = etag?.match(SHA256)?.[1];
    if (isNotFound(response.status)) throw new RemoteFileNotFoundError(url, response.status);
    if (linkedSize !== null) return { url, size: parseSize(linkedSize, url), sha256, commit };
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      if (!location) throw new ModelFetchError(`${current} redirected without a Location`);
      current = new URL(location, current).toString();
      continue;
    }
    if (!response.ok) throw new DownloadError(`HEAD ${current} answered HTTP ${response.status}`);
    const length = response.headers.get('content-length');
    if (length === null) throw new ModelFetchError(`${current} did not say its size (no Content-Length)`);
    return { url, size: parseSize(length, url), sha256, commit };
  }
  throw new ModelFetchError(`${url} redirected more than ${MAX_REDIRECTS} times`);
}

export function isNotFound(status: number): boolean {
  return status === 401 || status === 403 || status === 404;
}

function parseSize(value: string, url: string): number {
  const size = Number(value);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new ModelFetchError(`${url} announced an invalid size "${value}"`);
  return size;
}
