import type { ClientRequestArgs } from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { FRAME_MS, type PreparedCallAudio } from '../audio/call-audio.js';
import { SimulatedCallError } from '../errors.js';
import { signTwilioRequest } from '../signature.js';
import { pacer, type PacedSender } from './pacer.js';

export type StreamTrack = 'inbound' | 'outbound';

/** A keypress Twilio reports on the inbound track, at a media time (ms since the stream started). */
export interface DtmfEvent {
  atMs: number;
  digit: string;
}

export interface MediaStreamOptions {
  /** The Stream URL exactly as the TwiML wrote it: the upgrade's signature covers this string. */
  signedUrl: string;
  /** Where to open the socket. */
  connectUrl: string;
  authToken: string;
  accountSid: string;
  callSid: string;
  streamSid: string;
  tracks: readonly StreamTrack[];
  customParameters: Record<string, string>;
  audio: PreparedCallAudio;
  /** 1 = real time, 2 = twice as fast; `Infinity` = as fast as the socket drains. */
  speed: number;
  dtmf?: readonly DtmfEvent[];
  signal?: AbortSignal;
  /** Called right after the `start` message went out. */
  onStarted?: () => void;
}

export type StreamEnd = 'completed' | 'aborted' | 'closed-by-server';

export interface MediaStreamResult {
  end: StreamEnd;
  framesSent: Record<StreamTrack, number>;
  /** Frame periods of media time that were sent (the call's length so far, in 20 ms units). */
  ticksSent: number;
  /** Worst lateness of a frame behind its schedule, in ms (real-time pacing only; 0 otherwise). */
  maxLagMs: number;
}

/** Frames may leave this much before their slot, so one wake-up serves calls whose slots nearly coincide. */
const EARLY_TOLERANCE_MS = 1;
/** As-fast-as-possible mode: frame periods per pump, so one call cannot hog the event loop. */
const FAST_BATCH_TICKS = 25;
/** As-fast-as-possible mode: stop feeding a socket with this much unsent data, and check again later. */
const FAST_HIGH_WATER_BYTES = 1 << 20;
const BACKPRESSURE_RETRY_MS = 5;
const CLOSE_GRACE_MS = 2_000;

/**
 * Plays one Media Stream the way Twilio does: opens a signed WebSocket, sends `connected` and `start`,
 * then `media` for each track every 20 ms (interleaved by time), `dtmf` when due, and `stop` at the end.
 * A `mark` from the server is echoed back at once, as Twilio does on bidirectional streams once the audio
 * queued before it has played (the simulator plays none).
 * Rejects with a SimulatedCallError when the socket cannot be opened.
 */
export async function playMediaStream(options: MediaStreamOptions): Promise<MediaStreamResult> {
  const { socket, transport } = await connect(options);
  return new Promise<MediaStreamResult>((resolve) => {
    const session = new StreamSession(socket, transport, options, resolve);
    session.begin();
  });
}

interface Connection {
  socket: WebSocket;
  /** The TCP/TLS socket under the WebSocket, kept to batch writes (see StreamSession.pump). */
  transport: Socket;
}

function connect(options: MediaStreamOptions): Promise<Connection> {
  options.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    let transport: Socket | undefined;
    const socket = new WebSocket(options.connectUrl, {
      createConnection: (request: ClientRequestArgs) => {
        transport = openTransport(request, /^wss:/i.test(options.connectUrl));
        return transport;
      },
      headers: {
        'X-Twilio-Signature': signTwilioRequest(options.authToken, options.signedUrl, {}),
        'User-Agent': 'Twilio.TmeWs/1.0',
      },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    const fail = (message: string, cause?: unknown) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      reject(new SimulatedCallError('media-stream', message, { cause }));
    };
    socket.once('open', () => {
      socket.removeAllListeners();
      resolve({ socket, transport: transport! });
    });
    socket.once('unexpected-response', (_request, response) => {
      fail(`WebSocket upgrade refused with HTTP ${response.statusCode}`);
    });
    socket.once('error', (error) => fail(`WebSocket connection failed: ${error.message}`, error));
  });
}

/** What ws does to open its TCP/TLS connection; done here so the socket can be kept. */
function openTransport(request: ClientRequestArgs, secure: boolean): Socket {
  const host = request.hostname ?? request.host ?? 'localhost';
  const port = Number(request.port);
  if (!secure) return netConnect({ host, port });
  return tlsConnect({ host, port, servername: isIP(host) ? '' : host });
}

class StreamSession implements PacedSender {
  private readonly period: number;
  private readonly streamSidSuffix: string;
  private readonly media: readonly (readonly string[])[];
  private readonly dtmf: readonly DtmfEvent[];
  private readonly framesSent: Record<StreamTrack, number> = { inbound: 0, outbound: 0 };
  private sequence = 0;
  private tick = 0;
  private nextDtmf = 0;
  private startedAt = 0;
  private maxLagMs = 0;
  private end: StreamEnd | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly transport: Socket,
    private readonly options: MediaStreamOptions,
    private readonly resolve: (result: MediaStreamResult) => void,
  ) {
    this.period = options.speed === Infinity ? 0 : FRAME_MS / options.speed;
    this.streamSidSuffix = `,"streamSid":"${options.streamSid}"}`;
    this.media = options.tracks.map((track) =>
      track === 'inbound' ? options.audio.inboundMedia : options.audio.outboundMedia,
    );
    this.dtmf = [...(options.dtmf ?? [])].sort((a, b) => a.atMs - b.atMs);
  }

  begin(): void {
    const { socket, options } = this;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.onServerMessage(data.toString());
    });
    socket.once('close', () => this.onSocketClosed());
    // An 'error' is always followed by 'close'; listening keeps it from being thrown.
    socket.on('error', () => {});
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) {
      this.stopPumping('aborted');
      socket.close(1000);
      return;
    }

    socket.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    this.sendJson('start', {
      accountSid: options.accountSid,
      streamSid: options.streamSid,
      callSid: options.callSid,
      tracks: options.tracks,
      customParameters: options.customParameters,
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    });
    options.onStarted?.();
    this.startedAt = performance.now();
    pacer.add(this);
  }

  pump(now: number): number {
    if (this.end) return Infinity;
    const frameCount = this.options.audio.frameCount;
    const fast = this.period === 0;
    if (fast && this.socket.bufferedAmount > FAST_HIGH_WATER_BYTES) return now + BACKPRESSURE_RETRY_MS;
    let budget = fast ? FAST_BATCH_TICKS : Infinity;
    let due = this.startedAt + this.tick * this.period;
    // One write syscall for all frames of this pump instead of one per message: ws corks each frame's
    // header and payload together, and this outer cork extends that across messages. With 500 real-time
    // calls, time in writev fell from 17.7 s to 7 s per 25 s call (the largest cost of the simulator).
    this.transport.cork();
    while (this.tick < frameCount && budget > 0 && due <= now + EARLY_TOLERANCE_MS) {
      if (!fast && now - due > this.maxLagMs) this.maxLagMs = now - due;
      this.sendTick();
      budget--;
      due = this.startedAt + this.tick * this.period;
    }
    this.transport.uncork();
    if (this.tick < frameCount) return due;
    this.hangUp('completed');
    return Infinity;
  }

  private sendTick(): void {
    const k = this.tick++;
    const mediaMs = k * FRAME_MS;
    while (this.nextDtmf < this.dtmf.length && this.dtmf[this.nextDtmf]!.atMs <= mediaMs) {
      const { digit } = this.dtmf[this.nextDtmf++]!;
      this.sendJson('dtmf', { track: 'inbound_track', digit });
    }
    const tracks = this.options.tracks;
    for (let t = 0; t < tracks.length; t++) {
      this.socket.send(
        `{"event":"media","sequenceNumber":"${++this.sequence}","media":${this.media[t]![k]}${this.streamSidSuffix}`,
      );
      this.framesSent[tracks[t]!]++;
    }
  }

  /** Twilio's message layout: event, sequenceNumber, the event's own object, streamSid. */
  private sendJson(event: string, body: unknown): void {
    const message = { event, sequenceNumber: String(++this.sequence), [event]: body };
    this.socket.send(JSON.stringify(message).slice(0, -1) + this.streamSidSuffix);
  }

  private onServerMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // Twilio ignores what it cannot parse.
    }
    const mark = (message as { event?: unknown; mark?: { name?: unknown } }).mark;
    if ((message as { event?: unknown }).event === 'mark' && typeof mark?.name === 'string' && !this.end) {
      this.sendJson('mark', { name: mark.name });
    }
  }

  private readonly onAbort = (): void => this.hangUp('aborted');

  /** The call ends: `stop`, then a normal close; a server that never answers the close is cut off. */
  private hangUp(end: StreamEnd): void {
    if (this.end) return;
    this.stopPumping(end);
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.sendJson('stop', { accountSid: this.options.accountSid, callSid: this.options.callSid });
    this.socket.close(1000);
    const cutOff = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    this.socket.once('close', () => clearTimeout(cutOff));
  }

  private stopPumping(end: StreamEnd): void {
    this.end = end;
    pacer.delete(this);
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Settles once the socket is closed, whoever closed it. */
  private onSocketClosed(): void {
    if (!this.end) this.stopPumping('closed-by-server');
    this.resolve({
      end: this.end ?? 'closed-by-server',
      framesSent: { ...this.framesSent },
      ticksSent: this.tick,
      maxLagMs: this.maxLagMs,
    });
  }
}
