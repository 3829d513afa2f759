/* global AbortController, TextDecoderStream, clearTimeout, fetch, setTimeout */
// Server-Sent Events over fetch: EventSource cannot send an Authorization header, and a token in the URL would
// end up in logs. Reconnects by itself with Last-Event-ID, so no event is lost or repeated across a drop.

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * @param {{ url: string, token: () => string, onEvent: (e: {id?: string, type: string, data: string}) => void,
 *   onState?: (state: 'open' | 'reconnecting' | 'closed') => void, onUnauthorized?: () => void }} options
 */
export function openEventStream({ url, token, onEvent, onState = () => {}, onUnauthorized = () => {} }) {
  const stopped = new AbortController();
  let lastEventId;
  let retryMs = 2000;
  let failures = 0;

  (async () => {
    while (!stopped.signal.aborted) {
      try {
        const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token()}` };
        if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
        const response = await fetch(url, { headers, signal: stopped.signal, cache: 'no-store' });
        if (response.status === 401) {
          onState('closed');
          onUnauthorized();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        failures = 0;
        onState('open');
        await readEvents(response.body, {
          event(e) {
            if (e.id !== undefined) lastEventId = e.id;
            onEvent(e);
          },
          retry(ms) {
            retryMs = ms;
          },
        });
      } catch {
        // Network error or server gone: reconnect below.
      }
      if (stopped.signal.aborted) break;
      onState('reconnecting');
      await sleep(Math.min(30_000, retryMs * 2 ** Math.min(failures++, 4)), stopped.signal);
    }
    onState('closed');
  })();

  return {
    close: () => stopped.abort(),
    get lastEventId() {
      return lastEventId;
    },
  };
}

/** The text/event-stream format: fields up to a blank line make one event; lines starting with ':' are comments. */
async function readEvents(body, handlers) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { data: [], type: 'message', id: undefined };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (event.data.length > 0)
          handlers.event({ id: event.id, type: event.type, data: event.data.join('\n') });
        event = { data: [], type: 'message', id: undefined };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.data.push(text);
      else if (field === 'event') event.type = text;
      else if (field === 'id') event.id = text;
      else if (field === 'retry' && /^\d+$/.test(text)) handlers.retry(Number(text));
    }
  }
}
