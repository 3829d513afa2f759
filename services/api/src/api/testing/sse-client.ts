import { setTimeout as sleep } from 'node:timers/promises';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The next event, or an error after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent>;
  /** Events arriving within `ms` (none is fine). */
  drain(ms: number): Promise<SseEvent[]>;
  /** Resolves when the server ended the response. */
  ended: Promise<void>;
  close(): void;
}

/** A plain Server-Sent Events reader over fetch: no retries, so tests see exactly what each connection got. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const queue: SseEvent[] = [];
  let wake: (() => void) | undefined;
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    let current: SseEvent = { id: undefined, event: 'message', data: '' };
    let hasData = false;
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (hasData) queue.push(current);
            current = { id: undefined, event: 'message', data: '' };
            hasData = false;
            wake?.();
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') current.id = value;
            if (field === 'event') current.event = value;
            if (field === 'data') {
              current.data += hasData ? `\n${value}` : value;
              hasData = true;
            }
          }
        }
      }
    } catch {
      // aborted by close()
    }
    wake?.();
  })();
  let done = false;
  void ended.then(() => (done = true));

  async function next(timeoutMs = 5_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = queue.shift();
      if (event) return event;
      if (done) throw new Error('the stream ended');
      if (Date.now() > deadline) throw new Error(`no event within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(50)]);
    }
  }

  return {
    status: response.status,
    headers: response.headers,
    next,
    async drain(ms) {
      await sleep(ms);
      return queue.splice(0);
    },
    ended,
    close: () => abort.abort(),
  };
}
