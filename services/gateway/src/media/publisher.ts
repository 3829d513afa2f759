import { backoffDelayMs, type RetryPolicy } from '@calltx/retry';
import type { Logger } from '@calltx/runtime';
import type { Subjects, Track } from '@calltx/events';
import type { GatewayMetrics } from '../metrics.js';
import type { AckPublisher } from './ack-publisher.js';
import { BatchEncoder } from './batch-body.js';

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
  frames: Frame[];
  body: Uint8Array;
}

/**
 * Frames and held events are retried until stored (under the same Nats-Msg-Id), the buffer bound being the limit.
 * No jitter: a track's retries are serial, and tracks that retry together leave in one socket write.
 */
const PUBLISH_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 50, capMs: 2_000, jitter: 0 };

/**
 * Per-track queue: frames accumulate for at most `flushMs` (or until a batch is full), then go to JetStream one
 * batch at a time so the stream keeps each track's order even across retries. While a batch is in flight the
 * next one fills, which is what batches frames under load.
 */
export class TrackPublisher {
  private pending: Frame[] = [];
  private inFlight: Batch | undefined;
  private idle: Array<() => void> = [];
  /** Failed publishes since the last stored batch. */
  private failures = 0;
  private lastLostLog = 0;
  private readonly encoder: BatchEncoder;
  /** `received` includes `lost`: what JetStream holds for the track is received − lost. */
  readonly counts = { received: 0, lost: 0, lastTimestampMs: -1 };

  constructor(
    private readonly owner: MediaPublisher,
    readonly identity: TrackIdentity,
    private readonly subject: string,
  ) {
    this.encoder = new BatchEncoder(identity);
  }

  /** Accepts a frame unless the gateway-wide buffer is full; then the frame is counted lost (and logged). */
  add(frame: Frame): boolean {
    this.counts.received += 1;
    this.counts.lastTimestampMs = Math.max(this.counts.lastTimestampMs, frame.timestampMs);
    if (!this.owner.reserve()) {
      this.counts.lost += 1;
      this.owner.metrics.track[this.identity.track].lost.inc();
      if (frame.receivedAt - this.lastLostLog > 1_000) {
        this.lastLostLog = frame.receivedAt;
        this.owner.logger.error(
          { callSid: this.identity.callSid, track: this.identity.track, lost: this.counts.lost },
          'media buffer full (JetStream unreachable?): frames lost',
        );
      }
      return false;
    }
    insertInChunkOrder(this.pending, frame);
    if (this.pending.length >= this.owner.maxFramesPerMessage) this.flush();
    else this.owner.schedule(this);
    return true;
  }

  /** Resolves once every frame accepted so far is stored in JetStream. */
  whenIdle(): Promise<void> {
    this.flush();
    if (!this.inFlight && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  flush(): void {
    if (this.inFlight || this.pending.length === 0) return;
    const frames = this.pending.splice(0, this.owner.maxFramesPerMessage);
    const { streamSid, track } = this.identity;
    // The first chunk identifies the batch; a retry reuses it, so JetStream stores the batch once.
    this.inFlight = {
      msgId: `${streamSid}:${track}:${frames[0]!.chunk}`,
      frames,
      body: this.encoder.encode(Date.now(), frames),
    };
    this.send(this.inFlight);
  }

  private send(batch: Batch): void {
    this.owner.acks.publish(this.subject, batch.body, batch.msgId, (error) =>
      error ? this.failed(batch, error) : this.acked(batch),
    );
  }

  private acked(batch: Batch): void {
    const now = performance.now();
    const { metrics } = this.owner;
    for (const frame of batch.frames) metrics.frameAckSeconds.observe((now - frame.receivedAt) / 1_000);
    metrics.track[this.identity.track].published.inc(batch.frames.length);
    this.owner.release(batch.frames.length);
    this.failures = 0;
    this.inFlight = undefined;
    // Frames that arrived during the round trip have waited already; acks arrive together, so these
    // publishes still leave in one socket write.
    this.flush();
    if (!this.inFlight && this.pending.length === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private failed(batch: Batch, error: unknown): void {
    this.failures += 1;
    const retryInMs = backoffDelayMs(PUBLISH_RETRY, this.failures);
    this.owner.metrics.publishRetries.inc();
    this.owner.logger.warn(
      {
        err: error,
        callSid: this.identity.callSid,
        track: this.identity.track,
        frames: batch.frames.length,
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
}

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
  private readonly due = new Set<TrackPublisher>();
  private clock: NodeJS.Timeout | undefined;

  constructor(options: MediaPublisherOptions) {
    this.acks = options.acks;
    this.subjects = options.subjects;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.flushMs = options.flushMs;
    this.maxBufferedFrames = options.maxBufferedFrames;
    this.maxFramesPerMessage = options.maxFramesPerMessage ?? 50;
    this.metrics.reportBufferedFrames(() => this.buffered);
  }

  track(identity: TrackIdentity): TrackPublisher {
    return new TrackPublisher(this, identity, this.subjects.media(identity.callSid, identity.track));
  }

  schedule(track: TrackPublisher): void {
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
