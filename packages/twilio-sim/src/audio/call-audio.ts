import { readFile } from 'node:fs/promises';
import { encodeMulaw } from '@calltx/audio';
import { CallAudioError } from '../errors.js';
import { decodeWav, encodeWav, resamplePcm16 } from './wav.js';

/** Media Streams always carry 8 kHz mono mu-law in 20 ms frames of 160 bytes. */
export const STREAM_SAMPLE_RATE = 8000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (STREAM_SAMPLE_RATE * FRAME_MS) / 1000;

/** The two sides of a call as 16-bit PCM. Any sample rate; it is resampled to 8 kHz. */
export interface CallAudio {
  sampleRate: number;
  /** The browser (Client) agent: the parent call leg, Twilio's `inbound` track, recording channel 1. */
  agent: Int16Array;
  /** The dialed technician: the child leg, Twilio's `outbound` track, recording channel 2. */
  technician: Int16Array;
}

/**
 * Call audio made ready to stream: mu-law encoded once, and each frame's `media` object pre-serialised
 * so that sending a frame is string concatenation only. Share one instance across many calls.
 */
export interface PreparedCallAudio {
  readonly kind: 'prepared-call-audio';
  readonly frameCount: number;
  /** Media time of the whole call (frameCount × 20 ms). */
  readonly durationMs: number;
  /** JSON of the `media` object per frame, e.g. `{"track":"inbound","chunk":"1","timestamp":"0","payload":"…"}`. */
  readonly inboundMedia: readonly string[];
  readonly outboundMedia: readonly string[];
  /** Both sides at 8 kHz, zero-padded to whole frames; channel 1 = agent, 2 = technician. */
  readonly pcm: { readonly agent: Int16Array; readonly technician: Int16Array };
}

export type CallAudioSource = string | CallAudio | PreparedCallAudio;

/**
 * Loads and prepares call audio. A path must name a 2-channel WAV (channel 1 = agent, channel 2 = technician);
 * other sample rates and bit depths are converted to 16-bit 8 kHz.
 */
export async function prepareCallAudio(source: CallAudioSource): Promise<PreparedCallAudio> {
  if (typeof source !== 'string' && 'kind' in source) return source;
  const audio = typeof source === 'string' ? await readCallWav(source) : toStreamRate(source);
  return prepareFrames(audio.agent, audio.technician);
}

/** Full-length recordings, encoded once per prepared audio and shared by every call playing it. */
const fullRecordings = new WeakMap<PreparedCallAudio, Buffer>();

/** The 2-channel 16-bit 8 kHz WAV Twilio would store for this call's dual-channel recording. */
export function recordingWavOf(audio: PreparedCallAudio, frames = audio.frameCount): Buffer {
  const full = frames >= audio.frameCount;
  const cached = full ? fullRecordings.get(audio) : undefined;
  if (cached) return cached;
  const samples = frames * FRAME_SAMPLES;
  const wav = encodeWav({
    sampleRate: STREAM_SAMPLE_RATE,
    channels: [audio.pcm.agent.subarray(0, samples), audio.pcm.technician.subarray(0, samples)],
  });
  if (full) fullRecordings.set(audio, wav);
  return wav;
}

async function readCallWav(path: string): Promise<CallAudio> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new CallAudioError(`cannot read WAV file ${path}`, { cause });
  }
  const pcm = decodeWav(bytes, STREAM_SAMPLE_RATE);
  const [agent, technician] = pcm.channels;
  if (pcm.channels.length !== 2 || !agent || !technician) {
    throw new CallAudioError(
      `${path} has ${pcm.channels.length} channel(s); a call WAV needs 2 (1 = agent, 2 = technician)`,
    );
  }
  return { sampleRate: STREAM_SAMPLE_RATE, agent, technician };
}

function toStreamRate(audio: CallAudio): CallAudio {
  if (!Number.isFinite(audio.sampleRate) || audio.sampleRate <= 0) {
    throw new CallAudioError(`invalid sample rate ${audio.sampleRate}`);
  }
  return {
    sampleRate: STREAM_SAMPLE_RATE,
    agent: resamplePcm16(audio.agent, audio.sampleRate, STREAM_SAMPLE_RATE),
    technician: resamplePcm16(audio.technician, audio.sampleRate, STREAM_SAMPLE_RATE),
  };
}

function prepareFrames(agentIn: Int16Array, technicianIn: Int16Array): PreparedCallAudio {
  const longest = Math.max(agentIn.length, technicianIn.length);
  const frameCount = Math.ceil(longest / FRAME_SAMPLES);
  if (frameCount === 0) throw new CallAudioError('call audio is empty');
  const agent = padTo(agentIn, frameCount * FRAME_SAMPLES);
  const technician = padTo(technicianIn, frameCount * FRAME_SAMPLES);
  return {
    kind: 'prepared-call-audio',
    frameCount,
    durationMs: frameCount * FRAME_MS,
    inboundMedia: mediaFragments('inbound', encodeMulaw(agent), frameCount),
    outboundMedia: mediaFragments('outbound', encodeMulaw(technician), frameCount),
    pcm: { agent, technician },
  };
}

function padTo(samples: Int16Array, length: number): Int16Array {
  if (samples.length === length) return samples;
  const padded = new Int16Array(length);
  padded.set(samples);
  return padded;
}

function mediaFragments(track: 'inbound' | 'outbound', mulaw: Uint8Array, frameCount: number): string[] {
  const bytes = Buffer.from(mulaw.buffer, mulaw.byteOffset, mulaw.byteLength);
  const fragments = new Array<string>(frameCount);
  for (let k = 0; k < frameCount; k++) {
    const payload = bytes.toString('base64', k * FRAME_SAMPLES, (k + 1) * FRAME_SAMPLES);
    // Twilio sends chunk and timestamp as strings; chunk counts per track from 1, timestamp is media ms.
    fragments[k] =
      `{"track":"${track}","chunk":"${k + 1}","timestamp":"${k * FRAME_MS}","payload":"${payload}"}`;
  }
  return fragments;
}
