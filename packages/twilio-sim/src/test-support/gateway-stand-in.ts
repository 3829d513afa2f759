import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import twilio from 'twilio';
import { WebSocketServer, type WebSocket } from 'ws';

/** A test double of our gateway's Twilio-facing side; it records everything and validates every signature. */
export interface GatewayStandIn {
  /** Where to connect (`connectBaseUrl`). */
  url: string;
  /** The base the TwiML and signatures use (`publicBaseUrl`). */
  publicBaseUrl: string;
  voiceRequests: SignedRequest[];
  callbacks: SignedRequest[];
  streams: StandInStream[];
  /** Resolves when `count` streams have closed. */
  streamsClosed(count: number): Promise<void>;
  close(): Promise<void>;
}

export interface SignedRequest {
  path: string;
  params: Record<string, string>;
  signatureValid: boolean;
}

export interface StandInStream {
  signatureValid: boolean;
  /** Parsed messages in arrival order. */
  messages: Array<Record<string, unknown>>;
  socket: WebSocket;
  closed: Promise<void>;
}

export interface StandInOptions {
  authToken: string;
  publicBaseUrl?: string;
  /** Refuse WebSocket upgrades with this HTTP status. */
  refuseUpgradeWith?: number;
  /** Answer the voice webhook with this status instead of TwiML. */
  voiceStatus?: number;
  /** Connection overrides appended to the status-callback URLs of the TwiML (e.g. `rc=5&rp=5xx`). */
  callbackOverrides?: string;
  /** Answer the first N status callbacks with 503, as a gateway that can't reach JetStream does. */
  refuseCallbacks?: number;
  /** Called for each stream message, e.g. to send a mark or close the socket early. */
  onMessage?: (stream: StandInStream, message: Record<string, unknown>) => void;
}

/** The TwiML our gateway is specified to return for a browser agent's call. */
export function gatewayTwiml(publicBaseUrl: string, to: string, callbackOverrides?: string): string {
  const host = new URL(publicBaseUrl).host;
  const fragment = callbackOverrides ? `#${callbackOverrides}` : '';
  const response = new twilio.twiml.VoiceResponse();
  const stream = response.start().stream({
    url: `wss://${host}/twilio/media-stream`,
    track: 'both_tracks',
    statusCallback: `https://${host}/twilio/stream-status${fragment}`,
    statusCallbackMethod: 'POST',
  });
  stream.parameter({ name: 'sessionId', value: 'session-1' });
  stream.parameter({ name: 'agentId', value: 'agent-42' });
  response.start().recording({
    channels: 'dual',
    recordingStatusCallback: `https://${host}/twilio/recording-status${fragment}`,
    recordingStatusCallbackEvent: ['in-progress', 'completed', 'absent'],
  });
  response.dial({ callerId: '+15555550100' }).number(to);
  return response.toString();
}

export async function startGatewayStandIn(options: StandInOptions): Promise<GatewayStandIn> {
  const publicBaseUrl = options.publicBaseUrl ?? 'https://gateway.example.test';
  const voiceRequests: SignedRequest[] = [];
  const callbacks: SignedRequest[] = [];
  const streams: StandInStream[] = [];
  const closeWaiters: Array<() => void> = [];
  let closedCount = 0;

  const signed = (req: express.Request): SignedRequest => {
    const params = { ...(req.body as Record<string, string>) };
    const url = publicBaseUrl + req.originalUrl;
    const signature = req.header('X-Twilio-Signature') ?? '';
    // The fragment never reaches the server; the signature may cover the URL with or without it.
    const signedUrls = options.callbackOverrides ? [url, `${url}#${options.callbackOverrides}`] : [url];
    return {
      path: req.path,
      params,
      signatureValid: signedUrls.some((u) => twilio.validateRequest(options.authToken, signature, u, params)),
    };
  };

  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.post('/twilio/voice', (req, res) => {
    const request = signed(req);
    voiceRequests.push(request);
    if (options.voiceStatus) return res.status(options.voiceStatus).end();
    res
      .type('text/xml')
      .send(gatewayTwiml(publicBaseUrl, request.params['To'] ?? '', options.callbackOverrides));
  });
  let refusalsLeft = options.refuseCallbacks ?? 0;
  app.post(['/twilio/stream-status', '/twilio/recording-status'], (req, res) => {
    if (refusalsLeft > 0) {
      refusalsLeft -= 1;
      return res.status(503).end();
    }
    callbacks.push(signed(req));
    res.status(204).end();
  });

  const server = createServer(app);
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (options.refuseUpgradeWith) {
      socket.end(`HTTP/1.1 ${options.refuseUpgradeWith} Refused\r\nConnection: close\r\n\r\n`);
      return;
    }
    const publicUrl = `wss://${new URL(publicBaseUrl).host}${req.url ?? ''}`;
    const signature = String(req.headers['x-twilio-signature'] ?? '');
    const signatureValid = twilio.validateRequest(options.authToken, signature, publicUrl, {});
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream: StandInStream = {
        signatureValid,
        messages: [],
        socket: ws,
        closed: once(ws, 'close').then(() => {
          closedCount++;
          for (const wake of closeWaiters.splice(0)) wake();
        }),
      };
      streams.push(stream);
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Record<string, unknown>;
        stream.messages.push(message);
        options.onMessage?.(stream, message);
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    publicBaseUrl,
    voiceRequests,
    callbacks,
    streams,
    async streamsClosed(count) {
      while (closedCount < count) await new Promise<void>((resolve) => closeWaiters.push(resolve));
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
