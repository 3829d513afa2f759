import { backoffDelayMs, type RetryPolicy } from '@calltx/retry';
import type { Logger } from '@calltx/runtime';
import type { Subjects, Track } from '@calltx/events';
import type { GatewayMetrics } from '../metrics.js';
import type { AckPublisher } from './ack-publisher.js';
import { BatchEncoder, CallBatchEncoder, type BodyEncoder } from './batch-body.js';

export interface Frame {
  chunk: number;
  timestampMs: number;
  /** Twilio's base64 mu-law as checked on receipt; decoded into the batch body. */
  payload: string;
  /** performance.now() when the frame arrived, for the receive → ack latency. */
  receivedAt: number;
}

export interface TrackIdentity {
  callSid: string;
  streamSid: string;
  track: Track;
  speaker: string;
}

interface Batch {
  msgId: string;
  /** Per track the publisher covers, in its order. */
  frames: Frame[][];
  count: number;
  body: Uint8Array;
}

/** What a track received: `received` includes `lost`, so JetStream holds received − lost of it. */
export interface TrackCounts {
  received: number;
  lost: number;
  lastTimestampMs: number;
}

interface TrackQueue {
  identity: TrackIdentity;
  pending: Frame[];
  counts: TrackCounts;
  lastLostLog: number;
}

const NO_FRAMES: Frame[] = [];

/**
 * Frames and held events are retried until stored (under the same Nats-Msg-Id), the buffer bound being the limit.
 * No jitter: a track's retries are serial, and tracks that retry together leave in one socket write.
 */
const PUBLISH_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 50, capMs: 2_000, jitter: 0 };

/**
 * The message queue of one call's media: both tracks in one `media.frames.v3` message per flush (subject
 * `media.v1.<CallSid>.both`), or, with `MEDIA_MESSAGE_SCOPE=track`, one publisher per track writing
 * `media.frames.v2`. Frames accumulate for at most `flushMs` (or until a track has a full batch), then go to
 * JetStream one message at a time so the stream keeps each track's order even across retries. While a message is
 * in flight the next one fills, which is what batches frames under load. Each JetStream message costs the gateway
 * far more than a frame (docs/benchmarks.md), hence one per call rather than one per track.
 */
export class StreamPublisher {
  private readonly queues: TrackQueue[];
  private inFlight: Batch | undefined;
  private idle: Array<() => void> = [];
  /** Failed publishes since the last stored message. */
  private failures = 0;
  private readonly encoder: BodyEncoder;

  constructor(
    private readonly owner: MediaPublisher,
    tracks: readonly TrackIdentity[],
    private readonly subject: string,
  ) {
    this.queues = tracks.map((identity) => ({
      identity,
      pending: [],
      counts: { received: 0, lost: 0, lastTimestampMs: -1 },
      lastLostLog: 0,
    }));
    this.encoder = tracks.length === 1 ? new BatchEncoder(tracks[0]!) : new CallBatchEncoder(tracks);
  }

  private queue(track: Track): TrackQueue {
    const queues = this.queues;
    return queues.length === 1 || queues[0]!.identity.track === track ? queues[0]! : queues[1]!;
  }

  counts(track: Track): TrackCounts {
    return this.queue(track).counts;
  }

  /** Accepts a frame unless the gateway-wide buffer is full; then the frame is counted lost (and logged). */
  add(track: Track, frame: Frame): boolean {
    const queue = this.queue(track);
    const { counts } = queue;
    counts.received += 1;
    if (frame.timestampMs > counts.lastTimestampMs) counts.lastTimestampMs = frame.timestampMs;
    if (!this.owner.reserve()) {
      counts.lost += 1;
      this.owner.metrics.track[track].lost.inc();
      if (frame.receivedAt - queue.lastLostLog > 1_000) {
        queue.lastLostLog = frame.receivedAt;
        this.owner.logger.error(
          { callSid: queue.identity.callSid, track, lost: counts.lost },
          'media buffer full (JetStream unreachable?): frames lost',
        );
      }
      return false;
    }
    insertInChunkOrder(queue.pending, frame);
    if (queue.pending.length >= this.owner.maxFramesPerMessage) this.flush();
    else this.owner.schedule(this);
    return true;
  }

  /** Resolves once every frame accepted so far is stored in JetStream. */
  whenIdle(): Promise<void> {
    this.flush();
    if (!this.inFlight && this.waiting() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private waiting(): number {
    let n = 0;
    for (const queue of this.queues) n += queue.pending.length;
    return n;
  }

  flush(): void {
    if (this.inFlight) return;
    const max = this.owner.maxFramesPerMessage;
    let count = 0;
    const frames = this.queues.map((queue) => {
      const { pending } = queue;
      if (pending.length === 0) return NO_FRAMES;
      count += Math.min(pending.length, max);
      if (pending.length > max) return pending.splice(0, max);
      queue.pending = [];
      return pending;
    });
    if (count === 0) return;
    this.inFlight = {
      msgId: this.msgId(frames),
      frames,
      count,
      body: this.encoder.encode(Date.now(), frames),
    };
    this.send(this.inFlight);
  }

  /**
   * The first chunk of each track identifies the message; a retry reuses it, so JetStream stores it once.
   * Per track `<StreamSid>:<track>:<first chunk>`, per call `<StreamSid>:<first inbound>:<first outbound>` (0: none).
   */
  private msgId(frames: Frame[][]): string {
    const { streamSid, track } = this.queues[0]!.identity;
    if (frames.length === 1) return `${streamSid}:${track}:${frames[0]![0]!.chunk}`;
    return `${streamSid}:${frames[0]![0]?.chunk ?? 0}:${frames[1]![0]?.chunk ?? 0}`;
  }

  private send(batch: Batch): void {
    this.owner.acks.publish(this.subject, batch.body, batch.msgId, (error) =>
      error ? this.failed(batch, error) : this.acked(batch),
    );
  }

  private acked(batch: Batch): void {
    const now = performance.now();
    const { metrics } = this.owner;
    for (let t = 0; t < batch.frames.length; t += 1) {
      const frames = batch.frames[t]!;
      if (frames.length === 0) continue;
      for (const frame of frames) metrics.frameAckSeconds.observe((now - frame.receivedAt) / 1_000);
      metrics.track[this.queues[t]!.identity.track].published.inc(frames.length);
    }
    this.owner.release(batch.count);
    this.failures = 0;
    this.inFlight = undefined;
    // Frames that arrived during the round trip have waited already; acks arrive together, so these
    // publishes still leave in one socket write.
    this.flush();
    if (!this.inFlight && this.waiting() === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private failed(batch: Batch, error: unknown): void {
    this.failures += 1;
    const retryInMs = backoffDelayMs(PUBLISH_RETRY, this.failures);
    this.owner.metrics.publishRetries.inc();
    this.owner.logger.warn(
      {
        err: error,
        callSid: this.queues[0]!.identity.callSid,
        subject: this.subject,
        frames: batch.count,
        retryInMs,
      },
      'media publish failed, retrying',
    );
    setTimeout(() => this.send(batch), retryInMs);
  }
}

function insertInChunkOrder(frames: Frame[], frame: Frame): void {
  let i = frames.length;
  while (i > 0 && frames[i - 1]!.chunk > frame.chunk) i -= 1;
  frames.splice(i, 0, frame);
}

export interface MediaPublisherOptions {
  acks: AckPublisher;
  subjects: Subjects;
  metrics: GatewayMetrics;
  logger: Logger;
  flushMs: number;
  maxBufferedFrames: number;
  maxFramesPerMessage?: number;
  /** One message per call and flush (media.frames.v3), or per track (v2, for stream-ingest before v3). */
  scope?: MediaMessageScope;
}

export type MediaMessageScope = 'call' | 'track';

/**
 * Owns the bound on frames (and held voice-webhook events) in gateway memory across all tracks, and the flush
 * clock: every `flushMs` all tracks with waiting frames are flushed in one pass, so their publishes leave in one
 * socket write.
 */
export class MediaPublisher {
  readonly acks: AckPublisher;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly flushMs: number;
  readonly maxFramesPerMessage: number;
  private readonly subjects: Subjects;
  private readonly maxBufferedFrames: number;
  private buffered = 0;
  private readonly held = new Set<Promise<void>>();
  private readonly scope: MediaMessageScope;
  private readonly due = new Set<StreamPublisher>();
  private clock: NodeJS.Timeout | undefined;

  constructor(options: MediaPublisherOptions) {
    this.acks = options.acks;
    this.subjects = options.subjects;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.flushMs = options.flushMs;
    this.maxBufferedFrames = options.maxBufferedFrames;
    this.maxFramesPerMessage = options.maxFramesPerMessage ?? 50;
    this.scope = options.scope ?? 'call';
    this.metrics.reportBufferedFrames(() => this.buffered);
  }

  /** The publishers of one call's tracks: the same one for both, unless the scope is `track`. */
  call(tracks: Record<Track, TrackIdentity>): Record<Track, StreamPublisher> {
    const { inbound, outbound } = tracks;
    if (this.scope === 'call') {
      const both = new StreamPublisher(
        this,
        [inbound, outbound],
        this.subjects.media(inbound.callSid, 'both'),
      );
      return { inbound: both, outbound: both };
    }
    const one = (identity: TrackIdentity) =>
      new StreamPublisher(this, [identity], this.subjects.media(identity.callSid, identity.track));
    return { inbound: one(inbound), outbound: one(outbound) };
  }

  schedule(track: StreamPublisher): void {
    this.due.add(track);
    this.clock ??= setTimeout(() => this.tick(), this.flushMs);
  }

  private tick(): void {
    this.clock = undefined;
    const tracks = [...this.due];
    this.due.clear();
    for (const track of tracks) track.flush();
  }

  /**
   * Publishes an encoded event through the same bounded buffer as frames: it takes one slot until JetStream
   * stores it, retried with backoff under the same Nats-Msg-Id (so it is stored once however many attempts
   * reach JetStream). Resolves when stored; undefined when the buffer is full (nothing is held then).
   */
  hold(subject: string, data: Uint8Array, msgId: string): Promise<void> | undefined {
    if (!this.reserve()) return undefined;
    let failures = 0;
    const stored = new Promise<void>((resolve) => {
      const send = () =>
        this.acks.publish(subject, data, msgId, (error) => {
          if (!error) {
            this.release(1);
            resolve();
            return;
          }
          failures += 1;
          const retryInMs = backoffDelayMs(PUBLISH_RETRY, failures);
          this.metrics.publishRetries.inc();
          this.logger.warn({ err: error, msgId, retryInMs }, 'held event not stored yet, retrying');
          setTimeout(send, retryInMs);
        });
      send();
    });
    this.held.add(stored);
    void stored.then(() => this.held.delete(stored));
    return stored;
  }

  /** Resolves once every held event is stored (shutdown waits for them before closing NATS). */
  async heldEventsStored(): Promise<void> {
    await Promise.all(this.held);
  }

  get bufferedFrames(): number {
    return this.buffered;
  }

  reserve(): boolean {
    if (this.buffered >= this.maxBufferedFrames) return false;
    this.buffered += 1;
    return true;
  }

  release(frames: number): void {
    this.buffered -= frames;
  }
}
