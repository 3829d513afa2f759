import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** An increment taken on the per-frame path as a plain addition, and handed to prom-client when scraped. */
interface HotCounter {
  inc(by?: number): void;
}

/**
 * Counts for one label set of a counter, added to it in the counter's `collect` (run on every scrape). A
 * prom-client increment hashes its labels each time: per frame, that was 2.5 % of the gateway's CPU at 500 calls.
 */
class DeferredCount implements HotCounter {
  #pending = 0;

  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: Record<string, string>,
  ) {}

  inc(by = 1): void {
    this.#pending += by;
  }

  hand(): void {
    if (this.#pending === 0) return;
    this.counter.inc(this.labels, this.#pending);
    this.#pending = 0;
  }
}

export function createGatewayMetrics(registry: Registry) {
  const registers = [registry];
  let bufferedFramesNow = (): number => 0;
  let openSocketsNow = (): number => 0;
  const deferred: DeferredCount[] = [];
  const handDeferred = (): void => {
    for (const count of deferred) count.hand();
  };
  const metrics = {
    webhooks: new Counter({
      name: 'calltx_gateway_webhooks_total',
      help: 'Twilio webhook requests by route and outcome.',
      labelNames: ['route', 'outcome'] as const,
      registers,
    }),
    callSettingsRefused: new Counter({
      name: 'calltx_gateway_call_settings_refused_total',
      help: 'Per-call transcription settings (language, hints) left out as invalid: the call went on with the defaults.',
      labelNames: ['field'] as const,
      registers,
    }),
    signatureRejections: new Counter({
      name: 'calltx_gateway_signature_rejections_total',
      help: 'Requests and upgrades refused for a missing or invalid X-Twilio-Signature.',
      labelNames: ['route', 'reason'] as const,
      registers,
    }),
    streams: new Gauge({
      name: 'calltx_gateway_active_streams',
      help: 'Media stream sockets open.',
      registers,
    }),
    wsMessages: new Counter({
      name: 'calltx_gateway_ws_messages_total',
      help: 'Media stream WebSocket messages by event; rejected ones by reason.',
      labelNames: ['event'] as const,
      registers,
      collect: handDeferred,
    }),
    wsRejected: new Counter({
      name: 'calltx_gateway_ws_rejected_total',
      help: 'WebSocket messages dropped, by reason (malformed-json, unknown-event, binary, oversized, invalid-utf8, protocol-error, media-before-start, media-after-stop, invalid, duplicate-start).',
      labelNames: ['reason'] as const,
      registers,
    }),
    wsClosed: new Counter({
      name: 'calltx_gateway_ws_closed_total',
      help: 'Media stream sockets the gateway closed itself, by reason (start-timeout, oversized, invalid-utf8, protocol-error).',
      labelNames: ['reason'] as const,
      registers,
    }),
    wsRefused: new Counter({
      name: 'calltx_gateway_ws_refused_total',
      help: 'Media stream upgrades refused with a valid signature, by reason (max-sockets, shutting-down).',
      labelNames: ['reason'] as const,
      registers,
    }),
    sockets: new Gauge({
      name: 'calltx_gateway_media_sockets',
      help: 'Media stream sockets open, started or not (bounded by MEDIA_MAX_SOCKETS).',
      registers,
      collect() {
        this.set(openSocketsNow());
      },
    }),
    frames: new Counter({
      name: 'calltx_gateway_frames_total',
      help: 'Audio frames by outcome: received, published (acked by JetStream), lost (buffer full), duplicate.',
      labelNames: ['track', 'outcome'] as const,
      registers,
      collect: handDeferred,
    }),
    gaps: new Counter({
      name: 'calltx_gateway_frame_gaps_total',
      help: 'Frames missing from Twilio by chunk number (gaps in the input, not losses here).',
      labelNames: ['track'] as const,
      registers,
    }),
    // Read at scrape time: setting it on every frame in and out cost more than the rest of the frame metrics.
    bufferedFrames: new Gauge({
      name: 'calltx_gateway_buffered_frames',
      help: 'Frames (and held voice-webhook events) received but not yet acknowledged by JetStream.',
      registers,
      collect() {
        this.set(bufferedFramesNow());
      },
    }),
    publishRetries: new Counter({
      name: 'calltx_gateway_publish_retries_total',
      help: 'Media (and held event) publishes retried.',
      registers,
    }),
    frameAckSeconds: new Histogram({
      name: 'calltx_gateway_frame_ack_seconds',
      help: 'Time from a frame received to its JetStream acknowledgement.',
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
  };
  const hot = (counter: Counter<string>, labels: Record<string, string>): HotCounter => {
    const count = new DeferredCount(counter, labels);
    deferred.push(count);
    return count;
  };
  // Pre-bound label sets for the rest (label lookup costs more than the increment).
  const byTrack = (track: 'inbound' | 'outbound') => ({
    received: hot(metrics.frames, { track, outcome: 'received' }),
    published: hot(metrics.frames, { track, outcome: 'published' }),
    lost: metrics.frames.labels(track, 'lost'),
    outOfOrder: metrics.frames.labels(track, 'out-of-order'),
    gaps: metrics.gaps.labels(track),
  });
  return {
    ...metrics,
    /** Where the buffered-frames gauge reads its value when scraped. */
    reportBufferedFrames(source: () => number): void {
      bufferedFramesNow = source;
    },
    /** Where the media-sockets gauge reads its value when scraped. */
    reportOpenSockets(source: () => number): void {
      openSocketsNow = source;
    },
    track: { inbound: byTrack('inbound'), outbound: byTrack('outbound') },
    mediaMessages: hot(metrics.wsMessages, { event: 'media' }),
  };
}
