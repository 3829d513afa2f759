import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepareCallAudio, type CallAudioSource } from '../audio/call-audio.js';
import { CallAudioError, SimulatedCallError } from '../errors.js';
import type { FakeTwilioApi } from '../fake-api/fake-twilio-api.js';
import type { RecordingFaults } from '../fake-api/recording-faults.js';
import { newSid } from '../sids.js';
import { parseCallTwiml, type StreamInstruction } from '../twiml/parse-twiml.js';
import { Addressing } from './addressing.js';
import { CallbackSender, type CallbackDelivery } from './callbacks.js';
import { playMediaStream, type DtmfEvent, type StreamEnd, type StreamTrack } from './media-stream.js';
import { CallRecording, type RecordingOutcome } from './recording.js';
import { sendTwilioRequest } from './twilio-request.js';

export interface SimulateCallOptions {
  /** Where Twilio believes the gateway lives (PUBLIC_BASE_URL); every signature is computed over these URLs. */
  publicBaseUrl: string;
  /** Where to actually connect (e.g. `http://127.0.0.1:8080`); defaults to `publicBaseUrl`. */
  connectBaseUrl?: string;
  accountSid: string;
  authToken: string;
  /** The browser agent's identity as Twilio reports it; default `client:agent-1`. */
  from?: string;
  /** The technician's number (E.164) the agent dials. */
  to: string;
  /** 2-channel WAV path (1 = agent, 2 = technician), PCM arrays, or audio already prepared. */
  wav: CallAudioSource;
  /** 1 = real time (default), 2 = twice as fast, 0 or Infinity = as fast as possible. */
  speed?: number;
  callSid?: string;
  /** Path of the voice webhook under the public base; default `/twilio/voice`. */
  voicePath?: string;
  /** Extra params the browser passes with `Device.connect()`; Twilio forwards them to the voice webhook. */
  voiceParams?: Record<string, string>;
  /** Keypresses to report on the stream. */
  dtmf?: readonly DtmfEvent[];
  /** When given, `<Start><Recording>` is honoured: recording callbacks are sent and the file lands here. */
  recording?: FakeTwilioApi;
  /** Force how the recording ends; by default `completed`, or `absent` when the audio is all silence. */
  recordingOutcome?: RecordingOutcome;
  /** Faults the fake API applies when this call's recording is downloaded. */
  recordingFaults?: RecordingFaults;
  /** Pause between the end of the call and the final recording callback (Twilio needs a moment too). */
  recordingCompletedDelayMs?: number;
  /** Aborting hangs the call up: `stop` is sent and callbacks run as for a call that ended early. */
  signal?: AbortSignal;
}

export interface SimulatedCall {
  callSid: string;
  streamSid: string;
  recordingSid?: string;
  framesSent: Record<StreamTrack, number>;
  /** The voice webhook's TwiML, as returned. */
  twiml: string;
  /** How the media stream ended. */
  end: StreamEnd;
  /** Status callbacks in the order they completed. */
  callbacks: CallbackDelivery[];
  /** Worst lateness of a media frame behind its real-time schedule, in ms. */
  maxLagMs: number;
  /** Wall time from the voice webhook to the last callback. */
  wallMs: number;
}

const DEFAULT_FROM = 'client:agent-1';
const DEFAULT_VOICE_PATH = '/twilio/voice';

/**
 * Plays one call as Twilio would for a browser agent dialing a technician: the signed voice webhook, then the
 * Media Stream its TwiML asks for (signed upgrade, Twilio's JSON messages at 20 ms pace), the stream status
 * callbacks and, with a fake API, the recording callbacks and file. Resolves when every callback has landed.
 */
export async function simulateCall(options: SimulateCallOptions): Promise<SimulatedCall> {
  const startedAt = performance.now();
  const speed = normaliseSpeed(options.speed ?? 1);
  if (options.recording && options.recording.accountSid !== options.accountSid) {
    throw new RangeError('the fake Twilio API serves another account than the call uses');
  }
  const audio = await prepareCallAudio(options.wav).catch((cause: unknown) => {
    throw cause instanceof CallAudioError ? new SimulatedCallError('audio', cause.message, { cause }) : cause;
  });
  const addressing = new Addressing(options.publicBaseUrl, options.connectBaseUrl);
  const callSid = options.callSid ?? newSid('CA');

  const voiceUrl = addressing.publicUrl(options.voicePath ?? DEFAULT_VOICE_PATH);
  const twiml = await fetchTwiml(options, addressing, voiceUrl, callSid);
  const instructions = parseCallTwiml(twiml, voiceUrl);
  const { stream } = instructions;
  const streamSid = newSid('MZ');
  const callbacks = new CallbackSender(addressing, options.authToken);

  const recordingApi = options.recording;
  const recording =
    instructions.recording && recordingApi
      ? new CallRecording({
          instruction: instructions.recording,
          api: recordingApi,
          recordingSid: newSid('RE'),
          accountSid: options.accountSid,
          callSid,
          callbacks,
          ...(options.recordingFaults ? { faults: options.recordingFaults } : {}),
        })
      : undefined;
  recording?.start();

  const streamStatus = (event: string, extra: Record<string, string> = {}) => {
    if (!stream.statusCallback) return;
    callbacks.send('stream-status', event, stream.statusCallback, stream.statusCallbackMethod, {
      AccountSid: options.accountSid,
      CallSid: callSid,
      StreamSid: streamSid,
      StreamName: stream.name ?? streamSid,
      StreamEvent: event,
      Timestamp: new Date().toISOString(),
      ...extra,
    });
  };

  let played;
  try {
    played = await playMediaStream({
      signedUrl: stream.url,
      connectUrl: addressing.connectUrl(stream.url),
      authToken: options.authToken,
      accountSid: options.accountSid,
      callSid,
      streamSid,
      tracks: tracksOf(stream),
      customParameters: stream.parameters,
      audio,
      speed,
      ...(options.dtmf ? { dtmf: options.dtmf } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onStarted: () => streamStatus('stream-started'),
    });
  } catch (error) {
    streamStatus('stream-error', { StreamError: error instanceof Error ? error.message : String(error) });
    await callbacks.settled();
    throw error;
  }
  streamStatus('stream-stopped');

  if (recording) {
    if (options.recordingCompletedDelayMs) await sleep(options.recordingCompletedDelayMs);
    // The stream is only a fork: if the gateway dropped it, the call (and its recording) still ran to the end.
    const frames = played.end === 'aborted' ? played.ticksSent : audio.frameCount;
    recording.finish(audio, frames, options.recordingOutcome);
  }
  await callbacks.settled();

  return {
    callSid,
    streamSid,
    ...(recording ? { recordingSid: recording.recordingSid } : {}),
    framesSent: played.framesSent,
    twiml,
    end: played.end,
    callbacks: callbacks.deliveries,
    maxLagMs: played.maxLagMs,
    wallMs: performance.now() - startedAt,
  };
}

async function fetchTwiml(
  options: SimulateCallOptions,
  addressing: Addressing,
  voiceUrl: string,
  callSid: string,
): Promise<string> {
  const from = options.from ?? DEFAULT_FROM;
  // What Twilio posts for a Voice SDK (Client) call placed from the browser through a TwiML App.
  const params: Record<string, string> = {
    AccountSid: options.accountSid,
    ApiVersion: '2010-04-01',
    ApplicationSid: newSid('AP'),
    CallSid: callSid,
    CallStatus: 'ringing',
    Caller: from,
    Direction: 'inbound',
    From: from,
    To: options.to,
    ...options.voiceParams,
  };
  let response: Response;
  try {
    response = await sendTwilioRequest({
      publicUrl: voiceUrl,
      connectUrl: addressing.connectUrl(voiceUrl),
      method: 'POST',
      params,
      authToken: options.authToken,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (cause) {
    options.signal?.throwIfAborted();
    throw new SimulatedCallError('voice-webhook', 'request failed', { cause });
  }
  const body = await response.text();
  if (!response.ok) throw new SimulatedCallError('voice-webhook', `HTTP ${response.status}`);
  return body;
}

function tracksOf(stream: StreamInstruction): StreamTrack[] {
  if (stream.track === 'both_tracks') return ['inbound', 'outbound'];
  if (stream.track === 'outbound_track') return ['outbound'];
  return ['inbound'];
}

function normaliseSpeed(speed: number): number {
  if (speed === 0 || speed === Infinity) return Infinity;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be > 0 (got ${speed})`);
  return speed;
}
