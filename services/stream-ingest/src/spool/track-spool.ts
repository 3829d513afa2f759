import type { ObjectStore } from '@calltx/storage';
import type { Frame } from '../frames/frame.js';
import type { IngestMetrics } from '../metrics.js';
import { partKey } from './object-keys.js';
import { encodePart } from './part-format.js';

/** A JetStream message, or a share of one whose frames went to several spools (`ackAfter`). */
export interface Acknowledgeable {
  ack(): void;
}

/**
 * One message's acknowledgement split into `shares` (one per spool that holds some of its frames): the message is
 * acknowledged when the last share is, i.e. once all its frames are stored. Until then a crash leaves it
 * unacknowledged, and JetStream redelivers all of it; frames already stored come twice and finalize drops them
 * as duplicates by timestamp.
 */
export function ackAfter(shares: number, message: Acknowledgeable): Acknowledgeable {
  let left = shares;
  return {
    ack: () => {
      left -= 1;
      if (left === 0) message.ack();
    },
  };
}

export interface TrackSpoolOptions {
  store: ObjectStore;
  callSid: string;
  speaker: string;
  metrics: IngestMetrics;
  /** Longest time a frame waits before its part is stored. */
  flushMs: number;
  /** A part is stored early once it holds this many frames. */
  maxFrames: number;
  /** False once the call's claim is lost: nothing more is stored or acknowledged. */
  mayWrite: () => boolean;
  onError: (error: unknown) => void;
}

/**
 * Collects one speaker's frames and stores them as a part object every `flushMs` (or every `maxFrames`), then
 * acknowledges the messages they came in. A message is acknowledged only once its frames are durable, so after a
 * crash JetStream redelivers exactly what may be missing. At most one part is in flight per speaker; `add` waits
 * when the next one is full too, which pushes back on the consumer.
 */
export class TrackSpool {
  private frames: Frame[] = [];
  private messages: Acknowledgeable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private storing = false;

  constructor(private readonly options: TrackSpoolOptions) {}

  /** Frames held in memory, not yet stored. */
  get pending(): number {
    return this.frames.length;
  }

  get busy(): boolean {
    return this.storing || this.frames.length > 0;
  }

  async add(frames: readonly Frame[], message: Acknowledgeable): Promise<void> {
    this.frames.push(...frames);
    this.messages.push(message);
    if (this.frames.length >= this.options.maxFrames) {
      // The previous part must be stored before this one is handed over: one in flight, one filling.
      await this.inFlight;
      this.startFlush();
    } else {
      this.timer ??= setTimeout(() => this.startFlush(), this.options.flushMs);
    }
  }

  /** Stores what is held now; resolves when every part started so far is stored. */
  async flush(): Promise<void> {
    this.startFlush();
    await this.inFlight;
  }

  /** Forgets what is held (claim lost): the messages stay unacknowledged, so the next owner gets them again. */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.frames = [];
    this.messages = [];
  }

  private startFlush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.frames.length === 0) return;
    const frames = this.frames;
    const messages = this.messages;
    this.frames = [];
    this.messages = [];
    this.inFlight = this.inFlight.then(() => this.store(frames, messages));
  }

  private async store(frames: Frame[], messages: Acknowledgeable[]): Promise<void> {
    const { store, callSid, speaker, metrics } = this.options;
    if (!this.options.mayWrite()) return;
    this.storing = true;
    try {
      let first = frames[0]!.timestampMs;
      let last = first;
      for (const frame of frames) {
        if (frame.timestampMs < first) first = frame.timestampMs;
        if (frame.timestampMs > last) last = frame.timestampMs;
      }
      const stopTimer = metrics.partSeconds.startTimer();
      await store.putObject(partKey(callSid, speaker, first, last), encodePart(frames));
      stopTimer();
      metrics.partsWritten.inc();
      metrics.framesStored.inc({ speaker }, frames.length);
      if (this.options.mayWrite()) for (const message of messages) message.ack();
    } catch (error) {
      // Not acknowledged: JetStream redelivers after ack_wait, and the frames are spooled again then.
      this.options.onError(error);
    } finally {
      this.storing = false;
    }
  }
}
