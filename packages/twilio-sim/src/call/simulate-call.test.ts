import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, prepareCallAudio } from '../audio/call-audio.js';
import { decodeWav } from '../audio/wav.js';
import { SimulatedCallError } from '../errors.js';
import { startFakeTwilioApi, type FakeTwilioApi } from '../fake-api/fake-twilio-api.js';
import { decodeMulawByte, toneCall } from '../test-support/audio-fixtures.js';
import {
  startGatewayStandIn,
  type GatewayStandIn,
  type StandInOptions,
} from '../test-support/gateway-stand-in.js';
import { simulateCall, type SimulateCallOptions } from './simulate-call.js';

const ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH_TOKEN = 'test-auth-token-0123456789';
const TO = '+15555550123';
const SAMPLE_WAV = fileURLToPath(new URL('../../assets/sample-call.wav', import.meta.url));

/** A Media Streams message as the gateway receives it. */
interface Message {
  event: string;
  sequenceNumber?: string;
  streamSid?: string;
  media?: { track: string; chunk: string; timestamp: string; payload: string };
  [key: string]: unknown;
}

let gateway: GatewayStandIn | undefined;
let api: FakeTwilioApi | undefined;

afterEach(async () => {
  await gateway?.close();
  await api?.close();
  gateway = api = undefined;
});

async function standIn(options: Partial<StandInOptions> = {}): Promise<GatewayStandIn> {
  gateway = await startGatewayStandIn({ authToken: AUTH_TOKEN, ...options });
  return gateway;
}

function callOptions(gw: GatewayStandIn, extra: Partial<SimulateCallOptions> = {}): SimulateCallOptions {
  return {
    publicBaseUrl: gw.publicBaseUrl,
    connectBaseUrl: gw.url,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    to: TO,
    wav: toneCall(1),
    speed: Infinity,
    ...extra,
  };
}

describe('simulateCall', () => {
  it('posts a signed voice webhook with the params Twilio sends for a browser call', async () => {
    const gw = await standIn();
    const call = await simulateCall(
      callOptions(gw, { from: 'client:agent-42', voiceParams: { JobId: 'J-7' } }),
    );

    expect(gw.voiceRequests).toHaveLength(1);
    const voice = gw.voiceRequests[0]!;
    expect(voice.signatureValid).toBe(true);
    expect(voice.params).toMatchObject({
      AccountSid: ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      CallSid: call.callSid,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: 'client:agent-42',
      Caller: 'client:agent-42',
      To: TO,
      JobId: 'J-7',
    });
    expect(voice.params['ApplicationSid']).toMatch(/^AP[0-9a-f]{32}$/);
    expect(call.callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(call.twiml).toContain('<Stream');
  });

  it('opens a signed stream and sends Twilio-shaped messages for both tracks in time order', async () => {
    const gw = await standIn();
    const audio = toneCall(1);
    const call = await simulateCall(callOptions(gw, { wav: audio }));
    await gw.streamsClosed(1);

    const stream = gw.streams[0]!;
    expect(stream.signatureValid).toBe(true);
    const messages = stream.messages as unknown as Message[];
    const frames = Math.ceil(audio.agent.length / FRAME_SAMPLES);
    expect(messages).toHaveLength(2 + 2 * frames + 1);

    expect(messages[0]).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(messages[1]).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: call.streamSid,
      start: {
        accountSid: ACCOUNT_SID,
        streamSid: call.streamSid,
        callSid: call.callSid,
        tracks: ['inbound', 'outbound'],
        customParameters: { sessionId: 'session-1', agentId: 'agent-42' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    const last = messages.at(-1)!;
    expect(last).toEqual({
      event: 'stop',
      sequenceNumber: String(messages.length - 1),
      streamSid: call.streamSid,
      stop: { accountSid: ACCOUNT_SID, callSid: call.callSid },
    });

    const media = messages.slice(2, -1);
    media.forEach((message, i) => {
      const k = Math.floor(i / 2);
      const track = i % 2 === 0 ? 'inbound' : 'outbound';
      expect(message.event).toBe('media');
      expect(message.streamSid).toBe(call.streamSid);
      expect(message.sequenceNumber).toBe(String(i + 2));
      expect(message.media!.track).toBe(track);
      expect(message.media!.chunk).toBe(String(k + 1));
      expect(message.media!.timestamp).toBe(String(k * 20));
      expect(Buffer.from(message.media!.payload, 'base64')).toHaveLength(160);
    });
    expect(call.framesSent).toEqual({ inbound: frames, outbound: frames });

    // The payloads carry the audio: decode independently and compare with the source PCM.
    const decoded = (track: string) =>
      media
        .filter((m) => m.media!.track === track)
        .flatMap((m) => [...Buffer.from(m.media!.payload, 'base64')].map(decodeMulawByte));
    const agent = decoded('inbound');
    const technician = decoded('outbound');
    for (const i of [100, 1000, 3000]) expect(Math.abs(agent[i]! - audio.agent[i]!)).toBeLessThan(300);
    for (const i of [4100, 5000, 7900])
      expect(Math.abs(technician[i]! - audio.technician[i]!)).toBeLessThan(300);
    expect(technician.slice(0, 3000).every((s) => Math.abs(s) < 8)).toBe(true);
  });

  it('reports stream-started and stream-stopped to the signed stream status callback', async () => {
    const gw = await standIn();
    const call = await simulateCall(callOptions(gw));
    const stream = gw.callbacks.filter((c) => c.path === '/twilio/stream-status');
    expect(stream.map((c) => c.params['StreamEvent'])).toEqual(['stream-started', 'stream-stopped']);
    for (const c of stream) {
      expect(c.signatureValid).toBe(true);
      expect(c.params).toMatchObject({
        AccountSid: ACCOUNT_SID,
        CallSid: call.callSid,
        StreamSid: call.streamSid,
      });
      expect(c.params['StreamName']).toBeTruthy();
      expect(Number.isNaN(Date.parse(c.params['Timestamp']!))).toBe(false);
    }
    expect(call.callbacks.filter((c) => c.kind === 'stream-status').every((c) => c.status === 204)).toBe(
      true,
    );
  });

  it('paces frames at real time, and faster with a higher speed', async () => {
    const gw = await standIn();
    const clip = await prepareCallAudio(toneCall(1));
    const timed = async (speed: number) => {
      const t0 = performance.now();
      const call = await simulateCall(callOptions(gw, { wav: clip, speed }));
      return { ms: performance.now() - t0, call };
    };
    const realTime = await timed(1);
    const double = await timed(2);
    const asFastAsPossible = await timed(0);
    expect(realTime.ms).toBeGreaterThanOrEqual(950);
    expect(double.ms).toBeGreaterThanOrEqual(470);
    expect(double.ms).toBeLessThan(realTime.ms);
    expect(asFastAsPossible.ms).toBeLessThan(double.ms);
    expect(realTime.call.framesSent).toEqual({ inbound: 50, outbound: 50 });
  });

  it('records the call: signed recording callbacks and a dual-channel file in the fake API', async () => {
    const gw = await standIn();
    api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const audio = toneCall(2);
    const call = await simulateCall(callOptions(gw, { wav: audio, recording: api }));

    expect(call.recordingSid).toMatch(/^RE[0-9a-f]{32}$/);
    const recording = gw.callbacks.filter((c) => c.path === '/twilio/recording-status');
    expect(recording.map((c) => c.params['RecordingStatus'])).toEqual(['in-progress', 'completed']);
    const completed = recording[1]!;
    expect(completed.signatureValid).toBe(true);
    expect(completed.params).toMatchObject({
      AccountSid: ACCOUNT_SID,
      CallSid: call.callSid,
      RecordingSid: call.recordingSid,
      RecordingUrl: `${api.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${call.recordingSid}`,
      RecordingStatus: 'completed',
      RecordingDuration: '2',
      RecordingChannels: '2',
      RecordingSource: 'StartCallRecordingTwiML',
      ErrorCode: '0',
    });
    expect(completed.params['RecordingStartTime']).toMatch(
      /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
    );

    const response = await fetch(`${completed.params['RecordingUrl']}.wav?RequestedChannels=2`, {
      headers: { Authorization: 'Basic ' + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64') },
    });
    expect(response.status).toBe(200);
    const pcm = decodeWav(new Uint8Array(await response.arrayBuffer()), 8000);
    expect(pcm.channels).toHaveLength(2);
    expect([...pcm.channels[0]!.subarray(0, 8000)]).toEqual([...audio.agent.subarray(0, 8000)]);
    expect([...pcm.channels[1]!.subarray(8000, 16000)]).toEqual([...audio.technician.subarray(8000, 16000)]);
  });

  it('retries refused status callbacks as the connection overrides in their URL ask, and only then', async () => {
    const retrying = await standIn({ callbackOverrides: 'rc=5&rp=5xx,ct,rt&tt=1500', refuseCallbacks: 3 });
    api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const call = await simulateCall(callOptions(retrying, { recording: api }));
    // Three 503s, spread over the first callbacks, then every callback lands (signed as Twilio signs it).
    expect(call.callbacks.every((d) => d.status === 204)).toBe(true);
    expect(call.callbacks.reduce((sum, d) => sum + d.attempts, 0)).toBe(call.callbacks.length + 3);
    expect(retrying.callbacks.every((c) => c.signatureValid)).toBe(true);
    const recording = retrying.callbacks.filter((c) => c.path === '/twilio/recording-status');
    // A retried callback lands after later ones, as with Twilio: the order is not kept.
    expect(recording.map((c) => c.params['RecordingStatus']).sort()).toEqual(['completed', 'in-progress']);
    await retrying.close();

    // Without overrides Twilio does not retry a 5xx: the refused callback is gone.
    const plain = await standIn({ refuseCallbacks: 1 });
    const lost = await simulateCall(callOptions(plain, { recording: api }));
    expect(lost.callbacks.filter((d) => d.status === 503)).toEqual([
      expect.objectContaining({ status: 503, attempts: 1 }),
    ]);
    expect(plain.callbacks).toHaveLength(lost.callbacks.length - 1);
  });

  it('reports an all-silent recording as absent with error 16102 and stores no file', async () => {
    const gw = await standIn();
    api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const silence = { sampleRate: 8000, agent: new Int16Array(8000), technician: new Int16Array(8000) };
    const call = await simulateCall(callOptions(gw, { wav: silence, recording: api }));
    const last = gw.callbacks.filter((c) => c.path === '/twilio/recording-status').at(-1)!;
    expect(last.params).toMatchObject({ RecordingStatus: 'absent', ErrorCode: '16102' });
    expect(api.hasRecording(call.recordingSid!)).toBe(false);
  });

  it('sends dtmf when due and echoes marks the gateway sends', async () => {
    const gw = await standIn({
      onMessage: (stream, message) => {
        if (message['event'] === 'start') {
          stream.socket.send(
            JSON.stringify({ event: 'mark', streamSid: 'x', mark: { name: 'greeting-done' } }),
          );
        }
      },
    });
    const call = await simulateCall(callOptions(gw, { speed: 4, dtmf: [{ atMs: 200, digit: '5' }] }));
    await gw.streamsClosed(1);
    const messages = gw.streams[0]!.messages as unknown as Message[];
    const dtmfIndex = messages.findIndex((m) => m.event === 'dtmf');
    expect(messages[dtmfIndex]).toMatchObject({
      streamSid: call.streamSid,
      dtmf: { track: 'inbound_track', digit: '5' },
    });
    expect(messages[dtmfIndex + 1]!.media!.timestamp).toBe('200');
    expect(messages.find((m) => m.event === 'mark')).toMatchObject({
      streamSid: call.streamSid,
      mark: { name: 'greeting-done' },
    });
    const sequence = messages.slice(1).map((m) => Number(m.sequenceNumber));
    expect(sequence).toEqual(sequence.map((_, i) => i + 1));
  });

  it('hangs up when aborted: stop is sent and the recording covers what was played', async () => {
    const gw = await standIn();
    api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const call = await simulateCall(
      callOptions(gw, { wav: toneCall(3), speed: 1, recording: api, signal: abort.signal }),
    );
    await gw.streamsClosed(1);

    expect(call.end).toBe('aborted');
    expect(call.framesSent.inbound).toBeGreaterThan(5);
    expect(call.framesSent.inbound).toBeLessThan(100);
    expect(gw.streams[0]!.messages.at(-1)!['event']).toBe('stop');
    const completed = gw.callbacks.find((c) => c.params['RecordingStatus'] === 'completed')!;
    expect(Number(completed.params['RecordingDuration'])).toBeLessThan(3);
  });

  it('stops streaming when the gateway closes the socket, while the call and recording run on', async () => {
    const gw = await standIn({
      onMessage: (stream, message) => {
        if (message['event'] === 'media' && message['sequenceNumber'] === '10') stream.socket.close(1000);
      },
    });
    api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const call = await simulateCall(callOptions(gw, { wav: toneCall(2), speed: 4, recording: api }));
    expect(call.end).toBe('closed-by-server');
    expect(call.framesSent.inbound).toBeLessThan(100);
    const completed = gw.callbacks.find((c) => c.params['RecordingStatus'] === 'completed')!;
    expect(completed.params['RecordingDuration']).toBe('2');
  });

  it('fails at the media stream when the upgrade is refused, after reporting stream-error', async () => {
    const gw = await standIn({ refuseUpgradeWith: 403 });
    const error = await simulateCall(callOptions(gw)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulatedCallError);
    expect((error as SimulatedCallError).stage).toBe('media-stream');
    expect((error as Error).message).toContain('403');
    const streamError = gw.callbacks.find((c) => c.params['StreamEvent'] === 'stream-error');
    expect(streamError?.params['StreamError']).toContain('403');
  });

  it('fails at the voice webhook when the gateway answers with an error status', async () => {
    const gw = await standIn({ voiceStatus: 403 });
    const error = await simulateCall(callOptions(gw)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulatedCallError);
    expect((error as SimulatedCallError).stage).toBe('voice-webhook');
    expect(gw.streams).toHaveLength(0);
  });

  it('plays the sample WAV, and resamples audio given at another rate', async () => {
    const gw = await standIn();
    const fromFile = await simulateCall(callOptions(gw, { wav: SAMPLE_WAV }));
    const samples = decodeWav(await import('node:fs/promises').then((fs) => fs.readFile(SAMPLE_WAV)), 8000);
    expect(fromFile.framesSent.inbound).toBe(Math.ceil(samples.channels[0]!.length / FRAME_SAMPLES));

    const wideband = await simulateCall(callOptions(gw, { wav: toneCall(1, 16000) }));
    expect(wideband.framesSent).toEqual({ inbound: 50, outbound: 50 });
  });
});
