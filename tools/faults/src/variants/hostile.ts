import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { newSid, signTwilioRequest } from '@calltx/twilio-sim';
import type { RunHooks } from '../run.js';

type Target = Parameters<NonNullable<RunHooks['alongsideCalls']>>[0];

/** Rounds of hostile traffic sent while the faulted run's calls play. */
const ROUNDS = 4;
const ROUND_PAUSE_MS = 2_000;

/**
 * The hostile-input variant: while the calls play (and the schedule kills), unsigned, forged, oversized and
 * malformed webhooks and media streams hit the gateway. The checks stay the same: the real calls must come out
 * as in the reference, and no process may die of it. What the gateway answered is printed as notes.
 */
export function hostileHooks(natsUrl: string): RunHooks & { stop(): Promise<void> } {
  return {
    natsUrl,
    streamReplicas: 1,
    alongsideCalls: async (target) => {
      const answers = new Map<string, Set<string>>();
      const note = (what: string, answer: string) =>
        answers.set(what, (answers.get(what) ?? new Set()).add(answer));
      for (let round = 0; round < ROUNDS; round += 1) {
        await Promise.all(
          Object.entries(ATTACKS).map(([what, attack]) =>
            attack(target).then(
              (answer) => note(what, answer),
              (error: unknown) =>
                note(what, `error: ${error instanceof Error ? error.message : String(error)}`),
            ),
          ),
        );
        await sleep(ROUND_PAUSE_MS);
      }
      return [...answers].map(([what, set]) => `hostile ${what}: ${[...set].join(' | ')}`);
    },
    stop: async () => undefined,
  };
}

const post = async (target: Target, path: string, body: string, signature?: string) => {
  const response = await fetch(`${target.gatewayUrl}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      ...(signature === undefined ? {} : { 'X-Twilio-Signature': signature }),
    },
    body,
  });
  await response.arrayBuffer();
  return `HTTP ${response.status}`;
};

const voiceParams = (target: Target, callSid: string) => ({
  AccountSid: target.accountSid,
  CallSid: callSid,
  CallStatus: 'ringing',
  Direction: 'inbound',
  From: 'client:hostile',
  To: '+15005550100',
});

/** Opens a signed media stream for a call of its own and sends `messages` on it; reports how it ended. */
async function mediaStream(
  target: Target,
  messages: (callSid: string, streamSid: string) => Array<string | Buffer>,
) {
  const callSid = newSid('CA');
  const params = voiceParams(target, callSid);
  const signedVoice = signTwilioRequest(target.authToken, `${target.publicBaseUrl}/twilio/voice`, params);
  const twiml = await fetch(`${target.gatewayUrl}/twilio/voice`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signedVoice },
    body: new URLSearchParams(params).toString(),
  }).then((r) => r.text());
  const url = /<Stream[^>]*\surl="([^"]+)"/.exec(twiml)?.[1]?.replaceAll('&amp;', '&');
  if (!url) return 'no stream in TwiML';
  const connectUrl = url.replace(/^wss?:\/\/[^/]+/, target.gatewayUrl.replace(/^http/, 'ws'));
  return new Promise<string>((resolve) => {
    const socket = new WebSocket(connectUrl, {
      headers: { 'X-Twilio-Signature': signTwilioRequest(target.authToken, url, {}) },
    });
    socket.once('unexpected-response', (_req, res) => resolve(`upgrade refused: HTTP ${res.statusCode}`));
    socket.once('error', (error) => resolve(`socket error: ${error.message}`));
    socket.once('close', (code) => resolve(`closed by the gateway: ${code}`));
    socket.once('open', () => {
      for (const message of messages(callSid, newSid('MZ'))) socket.send(message);
      // Left open a moment, then dropped without a stop, as a vanished peer would.
      setTimeout(() => {
        socket.terminate();
        resolve('accepted, dropped without stop');
      }, 500);
    });
  });
}

const start = (target: Target, callSid: string, streamSid: string) =>
  JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid,
    start: {
      accountSid: target.accountSid,
      callSid,
      streamSid,
      tracks: ['inbound', 'outbound'],
      customParameters: {},
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  });
const media = (streamSid: string, sequence: number, timestamp: string, payload: string, track = 'inbound') =>
  JSON.stringify({
    event: 'media',
    sequenceNumber: String(sequence),
    streamSid,
    media: { track, chunk: String(sequence), timestamp, payload },
  });

const ATTACKS: Record<string, (target: Target) => Promise<string>> = {
  'unsigned voice webhook': (t) =>
    post(t, '/twilio/voice', new URLSearchParams(voiceParams(t, newSid('CA'))).toString()),
  'forged signature on call-status': (t) =>
    post(t, '/twilio/call-status', `CallSid=${newSid('CA')}&CallStatus=completed`, 'AAAAforgedAAAA='),
  'oversized recording-status body': (t) =>
    post(t, '/twilio/recording-status', `x=${'A'.repeat(2_000_000)}`, 'x'),
  'media upgrade without signature': (t) =>
    new Promise((resolve) => {
      const socket = new WebSocket(`${t.gatewayUrl.replace(/^http/, 'ws')}/twilio/media-stream`);
      socket.once('unexpected-response', (_req, res) => resolve(`upgrade refused: HTTP ${res.statusCode}`));
      socket.once('open', () => {
        socket.terminate();
        resolve('upgrade ACCEPTED');
      });
      socket.once('error', (error) => resolve(`socket error: ${error.message}`));
    }),
  'malformed media stream': (t) =>
    mediaStream(t, (callSid, streamSid) => [
      '{not json',
      Buffer.from([0xff, 0xfe, 0x00]),
      JSON.stringify({ event: 'media', streamSid }),
      start(t, callSid, streamSid),
      media(streamSid, 2, '0', '!!!not base64!!!'),
      media(streamSid, 3, '20', Buffer.alloc(7).toString('base64')),
      media(streamSid, 4, '-40', Buffer.alloc(160, 0xff).toString('base64')),
      media(streamSid, 5, '99999999999', Buffer.alloc(160, 0xff).toString('base64')),
      media(streamSid, 6, '40', Buffer.alloc(160, 0xff).toString('base64'), 'sideways'),
      JSON.stringify({ event: 'mystery', streamSid }),
      JSON.stringify({ event: 'media', streamSid, media: { payload: 'A'.repeat(1_000_000) } }),
    ]),
};
