import type { WebSocket, RawData } from 'ws';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { z } from 'zod';
import { callEvents, type Subjects, type Track } from '@calltx/events';
import { type Logger } from '@calltx/runtime';
import type { GatewayMetrics } from '../metrics.js';
import { publishUntilStored } from './control.js';
import type { MediaPublisher, StreamPublisher } from './publisher.js';
import {
  ConnectedMessage,
  DtmfMessage,
  MarkMessage,
  StartMessage,
  StopMessage,
  TWILIO_EVENTS,
  checkMediaMessage,
  readTwilioMedia,
  type MediaFields,
} from './twilio-messages.js';

const KNOWN_EVENTS = new Set<string>(TWILIO_EVENTS);

export interface SessionDeps {
  js: JetStreamClient;
  subjects: Subjects;
  publisher: MediaPublisher;
  metrics: GatewayMetrics;
  logger: Logger;
  trackSpeakers: Record<Track, string>;
  /** A socket that hasn't sent `start` by then is closed: it holds a slot and carries no call. */
  startTimeoutMs: number;
}

/** ws's errors for frames it refuses (it closes the socket with 1009, 1007 or 1002 after them). */
const SOCKET_ERROR_REASONS: Record<string, 'oversized' | 'invalid-utf8'> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'oversized',
  WS_ERR_INVALID_UTF8: 'invalid-utf8',
};

type StopReason = 'stop' | 'socket-closed' | 'shutdown';
type RejectReason =
  | 'malformed-json'
  | 'unknown-event'
  | 'binary'
  | 'media-before-start'
  | 'media-after-stop'
  | 'invalid'
  | 'duplicate-start';

interface Started {
  callSid: string;
  streamSid: string;
  /** streamSid as bytes, for the media fast path. */
  streamSidBytes: Buffer;
  accountSid: string;
  /** Each track's publisher: one for both unless MEDIA_MESSAGE_SCOPE=track. */
  tracks: Record<Track, StreamPublisher>;
  lastChunk: Record<Track, number>;
}

const now = () => new Date().toISOString();

/**
 * One Twilio Media Stream. Every message is handled or counted as rejected; nothing a peer sends can throw out of
 * here. Frames go to the publisher at once; the stream is finished (all frames stored, then `stream-stopped`)
 * on `stop`, on socket close, or on shutdown.
 */
export class MediaStreamSession {
  private started: Started | undefined;
  private finishing: Promise<void> | undefined;
  private readonly log: Logger;
  private startTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.logger;
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', () => {
      clearTimeout(this.startTimer);
      void this.finish('socket-closed');
    });
    socket.on('error', (error) => {
      // Every error ws emits is about a frame it refused, and it closes the socket after it.
      const reason = SOCKET_ERROR_REASONS[(error as { code?: string }).code ?? ''] ?? 'protocol-error';
      deps.metrics.wsRejected.inc({ reason });
      deps.metrics.wsClosed.inc({ reason });
      this.log.warn({ err: error, callSid: this.started?.callSid, reason }, 'media socket error');
    });
    this.startTimer = setTimeout(() => {
      deps.metrics.wsClosed.inc({ reason: 'start-timeout' });
      this.log.warn(
        { reason: 'start-timeout', waitedMs: deps.startTimeoutMs },
        'media socket closed: no start',
      );
      socket.close(1008, 'no start message');
    }, deps.startTimeoutMs);
  }

  get callSid(): string | undefined {
    return this.started?.callSid;
  }

  /** Finishes the stream and closes the socket (used at shutdown). */
  async close(): Promise<void> {
    const done = this.finish('shutdown');
    this.socket.close(1001, 'gateway shutting down');
    await done;
  }

  private reject(reason: RejectReason, detail?: Record<string, unknown>): void {
    this.deps.metrics.wsRejected.inc({ reason });
    this.log.warn({ reason, callSid: this.started?.callSid, ...detail }, 'media message rejected');
  }

  private parse<S extends z.ZodType>(schema: S, message: unknown): z.output<S> | undefined {
    const result = schema.safeParse(message);
    if (result.success) return result.data;
    this.reject('invalid', {
      issues: result.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
    });
    return undefined;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.reject('binary');
    const started = this.started;
    if (started && !this.finishing && Buffer.isBuffer(data)) {
      // Nearly all the traffic: Twilio's exact media text is read without a parse tree; anything else below.
      const media = readTwilioMedia(data, started.streamSidBytes);
      if (media) {
        this.deps.metrics.mediaMessages.inc();
        return this.accept(started, media, performance.now());
      }
    }
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return this.reject('malformed-json');
    }
    const event =
      typeof message === 'object' && message !== null ? (message as { event?: unknown }).event : undefined;
    if (event === 'media') {
      this.deps.metrics.mediaMessages.inc();
      return this.onMedia(message);
    }
    // Only Twilio's event names become label values: a peer can't grow the metric's cardinality.
    this.deps.metrics.wsMessages.inc({
      event: KNOWN_EVENTS.has(event as string) ? (event as string) : 'other',
    });
    switch (event) {
      case 'connected':
        this.parse(ConnectedMessage, message);
        return;
      case 'start':
        return this.onStart(message);
      case 'stop':
        return this.onStop(message);
      case 'dtmf':
        return this.onDtmf(message);
      case 'mark':
        return this.onMark(message);
      default:
        return this.reject('unknown-event');
    }
  }

  private onStart(message: unknown): void {
    const start = this.parse(StartMessage, message);
    if (!start) return;
    if (this.started) return this.reject('duplicate-start');
    clearTimeout(this.startTimer);
    const { callSid, streamSid, accountSid } = start.start;
    const { publisher, trackSpeakers } = this.deps;
    const track = (t: Track) => ({ callSid, streamSid, track: t, speaker: trackSpeakers[t] });
    this.started = {
      callSid,
      streamSid,
      streamSidBytes: Buffer.from(streamSid),
      accountSid,
      tracks: publisher.call({ inbound: track('inbound'), outbound: track('outbound') }),
      lastChunk: { inbound: 0, outbound: 0 },
    };
    this.deps.metrics.streams.inc();
    this.log.info({ callSid, streamSid, tracks: start.start.tracks }, 'media stream started');
    const event = callEvents.streamStarted({
      callSid,
      at: now(),
      streamSid,
      accountSid,
      tracks: start.start.tracks,
      speakers: { inbound: trackSpeakers.inbound, outbound: trackSpeakers.outbound },
      mediaFormat: start.start.mediaFormat,
      customParameters: start.start.customParameters,
    });
    void publishUntilStored(
      this.deps.js,
      this.deps.subjects.call(callSid, 'stream-started'),
      event,
      `${streamSid}:stream-started`,
      this.log,
    );
  }

  private onMedia(message: unknown): void {
    const receivedAt = performance.now();
    if (!this.started) return this.reject('media-before-start');
    // stream-stopped reports what was received up to the stop: later frames are refused visibly, not left out.
    if (this.finishing) return this.reject('media-after-stop');
    const media = checkMediaMessage(message as object, this.started.streamSid);
    if (typeof media === 'string') return this.reject('invalid', { issues: [media] });
    this.accept(this.started, media, receivedAt);
  }

  private accept(started: Started, media: MediaFields, receivedAt: number): void {
    const { track, chunk, timestamp, payload } = media;
    const counters = this.deps.metrics.track[track];
    counters.received.inc();
    const last = started.lastChunk[track];
    if (chunk > last + 1 && last > 0) counters.gaps.inc(chunk - last - 1);
    if (chunk <= last) counters.outOfOrder.inc();
    started.lastChunk[track] = Math.max(last, chunk);
    started.tracks[track].add(track, { chunk, timestampMs: timestamp, payload, receivedAt });
  }

  private onStop(message: unknown): void {
    const stop = this.parse(StopMessage, message);
    if (!stop) return;
    void this.finish('stop');
  }

  private onDtmf(message: unknown): void {
    const dtmf = this.parse(DtmfMessage, message);
    if (!dtmf || !this.started) return;
    const { callSid, streamSid } = this.started;
    const event = callEvents.dtmf({
      callSid,
      at: now(),
      streamSid,
      track: dtmf.dtmf.track,
      digit: dtmf.dtmf.digit,
    });
    void publishUntilStored(
      this.deps.js,
      this.deps.subjects.call(callSid, 'dtmf'),
      event,
      `${streamSid}:dtmf:${dtmf.sequenceNumber}`,
      this.log,
    );
  }

  private onMark(message: unknown): void {
    const mark = this.parse(MarkMessage, message);
    if (!mark || !this.started) return;
    const { callSid, streamSid } = this.started;
    const event = callEvents.mark({ callSid, at: now(), streamSid, name: mark.mark.name });
    void publishUntilStored(
      this.deps.js,
      this.deps.subjects.call(callSid, 'mark'),
      event,
      `${streamSid}:mark:${mark.sequenceNumber}`,
      this.log,
    );
  }

  /** Idempotent: the first reason wins. Resolves when every received frame and `stream-stopped` are stored. */
  finish(reason: StopReason): Promise<void> {
    this.finishing ??= this.doFinish(reason);
    return this.finishing;
  }

  private async doFinish(reason: StopReason): Promise<void> {
    const started = this.started;
    if (!started) return;
    const { tracks } = started;
    await Promise.all([...new Set(Object.values(tracks))].map((publisher) => publisher.whenIdle()));
    const inbound = tracks.inbound.counts('inbound');
    const outbound = tracks.outbound.counts('outbound');
    this.deps.metrics.streams.dec();
    const event = callEvents.streamStopped({
      callSid: started.callSid,
      at: now(),
      streamSid: started.streamSid,
      reason,
      framesReceived: { inbound: inbound.received, outbound: outbound.received },
      framesLost: { inbound: inbound.lost, outbound: outbound.lost },
      lastTimestampMs: { inbound: inbound.lastTimestampMs, outbound: outbound.lastTimestampMs },
    });
    await publishUntilStored(
      this.deps.js,
      this.deps.subjects.call(started.callSid, 'stream-stopped'),
      event,
      `${started.streamSid}:stream-stopped`,
      this.log,
    );
    this.log.info(
      { callSid: started.callSid, reason, frames: event.framesReceived, lost: event.framesLost },
      'media stream finished',
    );
  }
}
