import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { retry, type RetryPolicy } from '@calltx/retry';
import { DownloadError, ModelFetchError, RemoteFileNotFoundError, VerificationError } from './errors.js';
import { isNotFound, type RemoteFile } from './remote-file.js';

export interface Progress {
  file: string;
  received: number;
  total: number;
}

export interface DownloadOptions {
  remote: RemoteFile;
  /** Final path; bytes go to `<dest>.part` until verified, then are renamed into place. */
  dest: string;
  /** Name used in messages and progress (the path inside the model). */
  file: string;
  /** Transfers tried (each resumes where the last one stopped) and the waits between them. Default `MODEL_FETCH_RETRY`. */
  retry?: RetryPolicy;
  onProgress?: (progress: Progress) => void;
}

/** `present`: already there and verified; `resumed`: a `.part` from an earlier run (or attempt) was continued. */
export type DownloadOutcome = 'present' | 'downloaded' | 'resumed';

/** What a `.part` file belongs to: a part is only continued when the remote file is still the same. */
interface PartMeta {
  size: number;
  sha256: string | null;
}

/** Each look-up and each file: 5 tries, 1 s doubling to 30 s between them; only `retryable` failures are retried. */
export const MODEL_FETCH_RETRY: RetryPolicy = { attempts: 5, baseMs: 1_000, capMs: 30_000, jitter: 0 };

/**
 * Downloads one file with HTTP Range resumption into `<dest>.part`, checks its size (always) and sha256 (when
 * the hub gave one), then renames it into place, so `dest` only ever holds a complete, verified file.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadOutcome> {
  const { remote, dest, file } = options;
  if (await isComplete(dest, remote)) {
    options.onProgress?.({ file, received: remote.size, total: remote.size });
    return 'present';
  }
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const metaPath = `${dest}.part.json`;
  const meta: PartMeta = { size: remote.size, sha256: remote.sha256 ?? null };
  if (!(await samePart(metaPath, meta))) {
    await rm(part, { force: true });
    await writeFile(metaPath, JSON.stringify(meta));
  }

  let resumed = false;
  try {
    await retry(async () => {
      const offset = Math.max(0, await sizeOf(part));
      if (offset > 0) resumed = true;
      await transfer(options, part, offset);
    }, options.retry ?? MODEL_FETCH_RETRY);
    await verify(part, file, remote);
  } catch (error) {
    if (error instanceof VerificationError) {
      // A bad part must not be resumed next time: start over.
      await rm(part, { force: true });
      await rm(metaPath, { force: true });
    }
    throw error;
  }
  await rename(part, dest);
  await rm(metaPath, { force: true });
  return resumed ? 'resumed' : 'downloaded';
}

async function transfer(options: DownloadOptions, part: string, offset: number): Promise<void> {
  const { remote, file, onProgress } = options;
  if (offset > remote.size) {
    await rm(part, { force: true });
    offset = 0;
  }
  if (offset === remote.size) return;
  let response: Response;
  try {
    response = await fetch(remote.url, {
      // identity: a compressed body would not match the announced size.
      headers: { 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
    });
  } catch (cause) {
    throw new DownloadError(`GET ${remote.url} failed`, cause);
  }
  if (isNotFound(response.status)) throw new RemoteFileNotFoundError(remote.url, response.status);
  if (response.status === 416) {
    await response.body?.cancel();
    // Asked for the bytes after the end: the part already holds all the server has.
    const actual = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1] ?? `${offset}`;
    if (offset === remote.size && Number(actual) === remote.size) return;
    throw new VerificationError(file, 'size', `${remote.size}`, actual);
  }
  let start: number;
  if (response.status === 206) {
    start = Number(/^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1] ?? NaN);
    if (start !== offset) {
      await response.body?.cancel();
      throw new DownloadError(`${file}: asked for bytes from ${offset}, got a range from ${start}`);
    }
  } else if (response.status === 200) {
    start = 0; // the server ignored the Range header: the whole file comes again
  } else {
    await response.body?.cancel();
    throw new DownloadError(`GET ${remote.url} answered HTTP ${response.status}`);
  }
  if (!response.body) throw new DownloadError(`GET ${remote.url} had no body`);

  const handle = await open(part, start === 0 ? 'w' : 'a');
  let received = start;
  try {
    for await (const chunk of response.body) {
      await handle.write(chunk);
      received += chunk.length;
      if (received > remote.size)
        throw new VerificationError(file, 'size', `${remote.size}`, `more than ${remote.size}`);
      onProgress?.({ file, received, total: remote.size });
    }
    await handle.sync();
  } catch (error) {
    if (error instanceof ModelFetchError) throw error;
    throw new DownloadError(`${file}: transfer cut at byte ${received} of ${remote.size}`, error);
  } finally {
    await handle.close();
  }
  if (received < remote.size)
    throw new DownloadError(`${file}: transfer ended at byte ${received} of ${remote.size}`);
}

async function verify(path: string, file: string, remote: RemoteFile): Promise<void> {
  const size = await sizeOf(path);
  if (size !== remote.size) throw new VerificationError(file, 'size', `${remote.size}`, `${size}`);
  if (remote.sha256 === undefined) return;
  const actual = await sha256Of(path);
  if (actual !== remote.sha256) throw new VerificationError(file, 'sha256', remote.sha256, actual);
}

async function isComplete(path: string, remote: RemoteFile): Promise<boolean> {
  if ((await sizeOf(path)) !== remote.size) return false;
  return remote.sha256 === undefined || (await sha256Of(path)) === remote.sha256;
}

async function samePart(metaPath: string, meta: PartMeta): Promise<boolean> {
  try {
    const found = JSON.parse(await readFile(metaPath, 'utf8')) as PartMeta;
    return found.size === meta.size && found.sha256 === meta.sha256;
  } catch {
    return false;
  }
}

/** -1 when there is no such file. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash: Hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
