import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import twilio from 'twilio';
import WebSocket from 'ws';
import { Subjects, type Family, type Track } from '@calltx/events';
import {
  MEDIA_FRAMES_V2,
  MEDIA_FRAMES_V3,
  decodeMediaBatch,
  mediaSections,
  type AnyMediaBatch,
} from '@calltx/events/internal';
import { connectNats, provisionStreams, type NatsLink } from '@calltx/nats';
import { createLogger, createMetricsRegistry, type Logger } from '@calltx/runtime';
import { createGateway, type Gateway } from '../app.js';
import { loadGatewayConfig, type GatewayConfig } from '../config.js';

import { LogCapture, eventually } from '@calltx/devstack';

export { LogCapture, eventually };

export const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
/** Key of the phone-number HMAC in tests: anything of 32 characters or more. */
export const CALLER_NUMBER_HASH_KEY = 'test-caller-number-hash-key-0123456789';
export const PUBLIC_BASE_URL = 'https://gateway.calls.example';
export const CALLER_ID = '+15005550006';

export const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

export interface GatewayHarness {
  gateway: Gateway;
  config: GatewayConfig;
  subjects: Subjects;
  nats: NatsLink;
  js: JetStreamClient;
  jsm: JetStreamManager;
  logs: LogCapture;
  logger: Logger;
  /** http://127.0.0.1:<port> — where to connect; signatures use PUBLIC_BASE_URL. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startGateway(
  overrides: Record<string, string> = {},
  natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
): Promise<GatewayHarness> {
  const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const config = loadGatewayConfig({
    NATS_URL: natsUrl,
    NATS_SUBJECT_PREFIX: prefix,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: CALLER_ID,
    CALLER_NUMBER_HASH_KEY,
    PUBLIC_BASE_URL,
    PORT: '0',
    ...overrides,
  });
  const logs = new LogCapture();
  const logger = createLogger({ service: 'gateway', level: 'debug', destination: logs });
  const subjects = new Subjects(prefix);
  const nats = await connectNats({ url: natsUrl, name: 'gateway-test', logger });
  const jsm = await jetstreamManager(nats.nc);
  const families: Family[] = ['calls', 'media', 'recordings', 'parties'];
  await provisionStreams(jsm, subjects, families, logger, config.NATS_STREAM_REPLICAS);
  const js = jetstream(nats.nc);
  const gateway = createGateway({
    config,
    nc: nats.nc,
    js,
    subjects,
    logger,
    registry: createMetricsRegistry('gateway'),
    isNatsConnected: nats.isConnected,
  });
  const port = await gateway.http.listen(0, '127.0.0.1');
  return {
    gateway,
    config,
    subjects,
    nats,
    js,
    jsm,
    logs,
    logger,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      gateway.stopIntake();
      await gateway.closeStreams(0);
      await gateway.closed();
      for (const family of families)
        await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
      await nats.nc.close();
    },
  };
}

/** Posts a form as Twilio would, signed unless told otherwise. */
export async function postTwilio(
  h: Pick<GatewayHarness, 'baseUrl'>,
  path: string,
  params: Record<string, string>,
  signature: 'valid' | 'forged' | 'missing' = 'valid',
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (signature === 'valid')
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(
      AUTH_TOKEN,
      `${PUBLIC_BASE_URL}${path}`,
      params,
    );
  if (signature === 'forged')
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(
      'not-the-token-0000000000',
      `${PUBLIC_BASE_URL}${path}`,
      params,
    );
  return fetch(`${h.baseUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(params) });
}

export const MEDIA_STREAM_URL = `${PUBLIC_BASE_URL.replace(/^http/, 'ws')}/twilio/media-stream`;

/** Opens the media-stream socket like Twilio does; resolves once open, rejects with the HTTP status if refused. */
export function openMediaStream(
  h: Pick<GatewayHarness, 'baseUrl'>,
  signature: 'valid' | 'forged' | 'missing' = 'valid',
): Promise<WebSocket> {
  const headers: Record<string, string> = {};
  if (signature === 'valid')
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(AUTH_TOKEN, MEDIA_STREAM_URL, {});
  if (signature === 'forged')
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(
      AUTH_TOKEN,
      `${MEDIA_STREAM_URL}?x=1`,
      {},
    );
  const ws = new WebSocket(`${h.baseUrl.replace(/^http/, 'ws')}/twilio/media-stream`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Builds Twilio Media Streams messages for one stream. */
export class TwilioStream {
  readonly streamSid = sid('MZ');
  private sequence = 0;
  private readonly chunk = { inbound: 0, outbound: 0 };

  constructor(readonly callSid: string = sid('CA')) {}

  connected() {
    return { event: 'connected', protocol: 'Call', version: '1.0.0' };
  }
  start(customParameters: Record<string, string> = {}) {
    return {
      event: 'start',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      start: {
        accountSid: ACCOUNT_SID,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ['inbound', 'outbound'],
        customParameters,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    };
  }
  /** The next 20 ms frame of a track; the payload encodes the chunk number so tests can check identity. */
  media(track: 'inbound' | 'outbound') {
    const chunk = ++this.chunk[track];
    const payload = Buffer.alloc(160, chunk % 256);
    payload.writeUInt32BE(chunk, 0);
    return {
      event: 'media',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      media: {
        track,
        chunk: String(chunk),
        timestamp: String((chunk - 1) * 20),
        payload: payload.toString('base64'),
      },
    };
  }
  dtmf(digit: string) {
    return {
      event: 'dtmf',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      dtmf: { track: 'inbound_track', digit },
    };
  }
  mark(name: string) {
    return {
      event: 'mark',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      mark: { name },
    };
  }
  stop() {
    return {
      event: 'stop',
      sequenceNumber: String(++this.sequence),
      streamSid: this.streamSid,
      stop: { accountSid: ACCOUNT_SID, callSid: this.callSid },
    };
  }
}

/** The sum of a metric's samples on the gateway's /metrics that carry every one of `labels`. */
export async function metricValue(
  h: Pick<GatewayHarness, 'baseUrl'>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
  const labelText = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelText.every((l) => line.includes(l))) total += Number(line.split(' ').at(-1));
  }
  return total;
}

export function send(ws: WebSocket, message: unknown): Promise<void> {
  return new Promise((resolve, reject) =>
    ws.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve())),
  );
}

export interface StoredMessage {
  subject: string;
  seq: number;
  msgId: string | undefined;
  /** The body as an object: JSON events as they are, media.frames.v2/v3 batches decoded (payloads as bytes). */
  json: Record<string, unknown>;
}

/** Every message currently stored in a stream, optionally only on one subject filter. */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  filterSubject?: string,
): Promise<StoredMessage[]> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  if (info.state.messages === 0) return out;
  const consumer = await js.consumers.get(stream, filterSubject ? { filter_subjects: filterSubject } : {});
  if ((await consumer.info()).num_pending === 0) return out;
  for (;;) {
    const msg = await consumer.next({ expires: 1_000 });
    if (!msg) break;
    out.push({
      subject: msg.subject,
      seq: msg.seq,
      msgId: msg.headers?.get('Nats-Msg-Id'),
      json:
        msg.data[0] === MEDIA_FRAMES_V2 || msg.data[0] === MEDIA_FRAMES_V3
          ? { ...decodeMediaBatch(msg.data) }
          : msg.json<Record<string, unknown>>(),
    });
    if (msg.info.pending === 0) break;
  }
  return out;
}

export type StoredFrames = Array<{ chunk: number; timestampMs: number; payload: Uint8Array }>;

/** A call's media as stored, whatever the message version: the messages, and each track's frames in stream order. */
export async function readMedia(
  nc: NatsConnection,
  subjects: Subjects,
  callSid: string,
): Promise<{ messages: StoredMessage[]; frames: Record<Track, StoredFrames> }> {
  const messages = await readStream(nc, subjects.streamName('media'), subjects.all('media', callSid));
  const frames: Record<Track, StoredFrames> = { inbound: [], outbound: [] };
  for (const message of messages) {
    for (const section of mediaSections(message.json as unknown as AnyMediaBatch)) {
      frames[section.track].push(...(section.frames as StoredFrames));
    }
  }
  return { messages, frames };
}
