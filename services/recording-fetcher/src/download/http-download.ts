import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { RecordingFetchError } from '../errors.js';
import type { RedirectPolicy } from '../twilio/redirect-policy.js';

export interface DownloadLimits {
  /** No byte for this long (connect, headers or body) abandons the download; also the grace before the rate check. */
  timeoutMs: number;
  /** Slowest average rate tolerated once `timeoutMs` has passed. */
  minBytesPerSec: number;
  /** Largest body accepted. */
  maxBytes: number;
}

export interface DownloadRequest {
  url: URL;
  /** Sent to the API origin only, never to a redirect target (those carry their own short-lived signature). */
  authorization: string;
  policy: RedirectPolicy;
  limits: DownloadLimits;
  signal?: AbortSignal;
}

export interface Download {
  /** As declared by the server, when it declared one. */
  contentLength: number | undefined;
  /** Host that served the body (the API host or an allowed redirect target). */
  host: string;
  /** The body, chunk by chunk; throws a RecordingFetchError when the transfer fails or breaks a limit. */
  body: AsyncIterable<Buffer>;
  /** Drops the connection (when the consumer gives up early). */
  abort(): void;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const ERROR_BODY_LIMIT = 4096;

/**
 * GETs a recording's media. Redirects are followed by hand, each target checked against the policy before any
 * connection is made. Resolves once a 200 arrived; every other answer becomes a RecordingFetchError saying
 * whether trying again can help.
 */
export async function openDownload(request: DownloadRequest): Promise<Download> {
  const { policy, limits, signal } = request;
  let url = request.url;
  for (let hop = 0; ; hop += 1) {
    const headers: Record<string, string> = {
      'user-agent': 'calltx-recording-fetcher',
      accept: 'audio/x-wav, audio/wav',
    };
    if (policy.isApiOrigin(url)) headers.authorization = request.authorization;
    const { res, failure } = await get(url, headers, limits.timeoutMs, signal);
    const status = res.statusCode ?? 0;

    if (REDIRECT_STATUSES.has(status)) {
      res.resume();
      const location = res.headers.location;
      if (!location)
        throw new RecordingFetchError(
          'refused',
          `HTTP ${status} redirect without a Location from ${url.host}`,
        );
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      if (!next)
        throw new RecordingFetchError(
          'refused',
          `HTTP ${status} redirect from ${url.host} to an invalid Location`,
        );
      if (!policy.allows(next)) {
        throw new RecordingFetchError(
          'redirect-refused',
          `redirect from ${url.host} to ${next.protocol}//${next.host} is not allowed`,
        );
      }
      if (hop === MAX_REDIRECTS)
        throw new RecordingFetchError('too-many-redirects', `more than ${MAX_REDIRECTS} redirects`);
      url = next;
      continue;
    }
    if (status !== 200) throw await statusError(res, url);

    const declared = res.headers['content-length'];
    const contentLength = declared === undefined ? undefined : Number(declared);
    if (contentLength !== undefined && !Number.isSafeInteger(contentLength)) {
      res.destroy();
      throw new RecordingFetchError(
        'refused',
        `invalid Content-Length ${JSON.stringify(declared)} from ${url.host}`,
      );
    }
    if (contentLength !== undefined && contentLength > limits.maxBytes) {
      res.destroy();
      throw new RecordingFetchError(
        'too-large',
        `Content-Length ${contentLength} exceeds the ${limits.maxBytes}-byte limit`,
      );
    }
    return {
      contentLength,
      host: url.host,
      body: guardedBody(res, limits, failure, url.host),
      abort: () => res.destroy(),
    };
  }
}

interface Response {
  res: IncomingMessage;
  /** Set when the request was destroyed for a reason of ours (idle timeout). */
  failure: () => RecordingFetchError | undefined;
}

function get(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Response> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let failure: RecordingFetchError | undefined;
    const req = client.get(url, { headers, timeout: timeoutMs, signal });
    req.on('timeout', () => {
      failure = new RecordingFetchError('timeout', `nothing received from ${url.host} for ${timeoutMs} ms`, {
        retryable: true,
      });
      req.destroy(failure);
    });
    req.once('response', (res) => resolve({ res, failure: () => failure }));
    req.once('error', (error) => reject(failure ?? transferError(error, url.host)));
  });
}

/** The body with the limits applied: size, average rate, and errors translated to RecordingFetchError. */
async function* guardedBody(
  res: IncomingMessage,
  limits: DownloadLimits,
  failure: () => RecordingFetchError | undefined,
  host: string,
): AsyncGenerator<Buffer> {
  const started = Date.now();
  let received = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > limits.maxBytes) {
        throw new RecordingFetchError('too-large', `body exceeds the ${limits.maxBytes}-byte limit`);
      }
      const elapsedMs = Date.now() - started;
      if (elapsedMs > limits.timeoutMs && (received * 1000) / elapsedMs < limits.minBytesPerSec) {
        throw new RecordingFetchError(
          'too-slow',
          `${host} sent ${received} bytes in ${elapsedMs} ms, slower than ${limits.minBytesPerSec} bytes/s`,
          { retryable: true },
        );
      }
      yield chunk;
    }
  } catch (error) {
    if (error instanceof RecordingFetchError) throw error;
    throw failure() ?? transferError(error, host);
  } finally {
    res.destroy();
  }
}

function transferError(error: unknown, host: string): RecordingFetchError {
  const code = (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  if (name === 'AbortError')
    return new RecordingFetchError('connection-failed', 'download aborted', {
      retryable: true,
      cause: error,
    });
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new RecordingFetchError('truncated', `${host} closed the connection mid-transfer`, {
      retryable: true,
      cause: error,
    });
  }
  return new RecordingFetchError(
    'connection-failed',
    `could not download from ${host}: ${code ?? (error as Error).message}`,
    {
      retryable: true,
      cause: error,
    },
  );
}

/** Maps a non-200 answer, reading Twilio's JSON error (code, message) when there is one. */
async function statusError(res: IncomingMessage, url: URL): Promise<RecordingFetchError> {
  const status = res.statusCode ?? 0;
  const detail = await readErrorBody(res);
  const what = `${url.host} answered HTTP ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 401 || status === 403)
    return new RecordingFetchError('unauthorized', `${what}: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN`);
  if (status === 404)
    return new RecordingFetchError('not-ready', `${what}: the recording is not available (yet)`, {
      retryable: true,
    });
  if (status === 429) return new RecordingFetchError('rate-limited', what, { retryable: true });
  if (status >= 500) return new RecordingFetchError('server-error', what, { retryable: true });
  return new RecordingFetchError('refused', what);
}

async function readErrorBody(res: IncomingMessage): Promise<string> {
  let text = '';
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      text += chunk.toString('utf8');
      if (text.length >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // The status says enough.
  } finally {
    res.destroy();
  }
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (body.code !== undefined || body.message !== undefined)
      return `Twilio error ${String(body.code)}: ${String(body.message).slice(0, 200)}`;
  } catch {
    // Not Twilio's JSON: not worth quoting.
  }
  return '';
}
