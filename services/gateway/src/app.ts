import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { createServiceHttp, type Logger, type ServiceHttp } from '@calltx/runtime';
import { type Subjects } from '@calltx/events';
import type { GatewayConfig } from './config.js';
import { AckPublisher } from './media/ack-publisher.js';
import { MediaPublisher } from './media/publisher.js';
import { MediaStreamSession } from './media/session.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { checkUpgradeSignature } from './twilio/signature.js';
import { PATHS } from './twilio/twiml.js';
import { webhookRouter } from './webhooks/router.js';

/** Twilio's messages are a few hundred bytes; anything near this is not a media stream. */
export const MAX_WS_MESSAGE_BYTES = 64 * 1024;

export interface GatewayDeps {
  config: GatewayConfig;
  nc: NatsConnection;
  js: JetStreamClient;
  subjects: Subjects;
  logger: Logger;
  registry: Registry;
  isNatsConnected: () => boolean;
}

export interface Gateway {
  http: ServiceHttp;
  metrics: GatewayMetrics;
  publisher: MediaPublisher;
  /** Open media streams. */
  readonly sessions: ReadonlySet<MediaStreamSession>;
  /** Refuses new connections and upgrades; open streams and requests in flight carry on. */
  stopIntake(): void;
  /** Resolves when every HTTP request and socket has ended. */
  closed(): Promise<void>;
  /** Waits for open streams to end by themselves, up to `waitMs`, then finishes the rest and closes their sockets. */
  closeStreams(waitMs: number): Promise<void>;
}

/** JetStream answers within milliseconds when healthy; past this a media batch is retried (same Nats-Msg-Id). */
const MEDIA_ACK_TIMEOUT_MS = 5_000;

export function createGateway({
  config,
  nc,
  js,
  subjects,
  logger,
  registry,
  isNatsConnected,
}: GatewayDeps): Gateway {
  const metrics = createGatewayMetrics(registry);
  const http = createServiceHttp({ registry, checks: { nats: isNatsConnected } });
  const acks = new AckPublisher(nc, MEDIA_ACK_TIMEOUT_MS);
  const publisher = new MediaPublisher({
    acks,
    subjects,
    metrics,
    logger,
    flushMs: config.MEDIA_FLUSH_MS,
    scope: config.MEDIA_MESSAGE_SCOPE,
    maxBufferedFrames: config.MEDIA_BUFFER_MAX_FRAMES,
  });
  const sessions = new Set<MediaStreamSession>();
  metrics.reportOpenSockets(() => sessions.size);
  let accepting = true;
  let httpClosed: Promise<void> | undefined;

  http.app.use(
    webhookRouter({
      subjects,
      logger,
      metrics,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      authToken: config.TWILIO_AUTH_TOKEN,
      accountSid: config.TWILIO_ACCOUNT_SID,
      callerId: config.TWILIO_CALLER_ID,
      callerNumberHashKey: config.CALLER_NUMBER_HASH_KEY,
      storeCallerNumbers: config.STORE_CALLER_NUMBERS,
      holdEvent: (subject, data, msgId) => publisher.hold(subject, data, msgId),
    }),
  );

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  const refuse = (socket: Duplex, status: string, reason: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${reason}`);
  };
  http.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== PATHS.mediaStream) return refuse(socket, '404 Not Found', 'Not found');
    if (!accepting) {
      metrics.wsRefused.inc({ reason: 'shutting-down' });
      return refuse(socket, '503 Service Unavailable', 'Shutting down');
    }
    const outcome = checkUpgradeSignature(config.TWILIO_AUTH_TOKEN, config.PUBLIC_BASE_URL, req);
    if (outcome !== 'valid') {
      metrics.signatureRejections.inc({ route: PATHS.mediaStream, reason: outcome });
      logger.warn({ route: PATHS.mediaStream, reason: outcome }, 'media stream refused: bad signature');
      return refuse(
        socket,
        '403 Forbidden',
        outcome === 'missing' ? 'Missing X-Twilio-Signature' : 'Invalid X-Twilio-Signature',
      );
    }
    // After the signature check: only signed upgrades count against the bound (or learn the gateway's load).
    if (sessions.size >= config.MEDIA_MAX_SOCKETS) {
      metrics.wsRefused.inc({ reason: 'max-sockets' });
      logger.warn({ open: sessions.size, reason: 'max-sockets' }, 'media stream refused: too many sockets');
      return refuse(socket, '503 Service Unavailable', 'Too many media streams');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new MediaStreamSession(ws, {
        js,
        subjects,
        publisher,
        metrics,
        logger,
        trackSpeakers: { inbound: config.TRACK_SPEAKERS.inbound!, outbound: config.TRACK_SPEAKERS.outbound! },
        startTimeoutMs: config.MEDIA_START_TIMEOUT_MS,
      });
      sessions.add(session);
      ws.once('close', () => {
        void session.finish('socket-closed').finally(() => sessions.delete(session));
      });
    });
  });

  return {
    http,
    metrics,
    publisher,
    sessions,
    stopIntake() {
      accepting = false;
      httpClosed ??= http.close();
    },
    closed() {
      httpClosed ??= http.close();
      return httpClosed;
    },
    async closeStreams(waitMs) {
      const deadline = Date.now() + waitMs;
      while (sessions.size > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      await Promise.all([...sessions].map((session) => session.close()));
      await publisher.heldEventsStored();
      acks.close();
    },
  };
}
