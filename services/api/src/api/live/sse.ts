import { once } from 'node:events';
import type { Response } from 'express';

/**
 * One Server-Sent Events response: `id` is the JetStream stream sequence, so a client that reconnects with
 * `Last-Event-ID` resumes right after the last event it got. Writes wait for the socket to drain, which holds
 * the ordered consumer back (its buffer is bounded) instead of queueing without limit for a slow client.
 */
export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly gone: Promise<unknown>;
  private ended = false;

  constructor(
    private readonly res: Response,
    { heartbeatMs = 15_000, retryMs = 2_000 }: { heartbeatMs?: number; retryMs?: number } = {},
  ) {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      Connection: 'keep-alive',
      // Proxies (nginx) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write(`retry: ${retryMs}\n: connected\n\n`);
    this.gone = once(res, 'close');
    // Comments keep idle connections open through proxies and let either side notice a dead peer.
    this.heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(': keep-alive\n\n');
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  async send(id: string, event: string, data: unknown): Promise<void> {
    if (this.ended || this.res.destroyed) return;
    const flushed = this.res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (!flushed) await Promise.race([once(this.res, 'drain'), this.gone]);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.res.end();
  }
}
