import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Upsampler2x, decodeMulaw } from '@calltx/audio';
import { callEvents, partyNumber, type Subjects, type Track } from '@calltx/events';
import { encodeMediaFramesV2, encodeMediaFramesV3 } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';
import { FRAME_BYTES, SAMPLES_PER_MS } from '../frames/frame.js';

export const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
export const AGENT = 'client:agent-alice';
export const TECHNICIAN = '+15005550123';
/** The technician's number as the gateway publishes it: a keyed hash (of a test key) and its last two digits. */
export const TECHNICIAN_NUMBER = partyNumber(TECHNICIAN, 'test-caller-number-hash-key-0123456789')!;
export const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;
export const SPEAKERS = { inbound: 'agent', outbound: 'technician' } as const;
const MULAW_SILENCE = 0xff;

/** Deterministic mu-law noise for a frame, so any frame can be made again to compute what a WAV must hold. */
export function framePayload(seed: string, track: Track, timestampMs: number): Buffer {
  let state = (timestampMs * 2654435761) ^ (track === 'inbound' ? 0x9e3779b9 : 0x7f4a7c15);
  for (let i = 0; i < seed.length; i++) state = Math.imul(state ^ seed.charCodeAt(i), 16777619);
  const bytes = Buffer.allocUnsafe(FRAME_BYTES);
  for (let i = 0; i < FRAME_BYTES; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** media.frames.v1 (JSON, base64 payloads), v2 (binary, one track) or v3 (binary, both tracks in one message). */
export type MediaFormat = 'v1' | 'v2' | 'v3';

export interface SentFrame {
  timestampMs: number;
  /** base64 as the gateway forwards it; anything for bad-input tests. */
  payload: string;
}

/**
 * A call as the gateway would publish it, straight to JetStream: lifecycle events and media messages with
 * frames of chosen timestamps. Remembers the valid frames sent, to compute the exact expected audio.
 */
export class SyntheticCall {
  readonly callSid = sid('CA');
  readonly streamSid = sid('MZ');
  readonly frames: Record<Track, Map<number, Buffer>> = { inbound: new Map(), outbound: new Map() };
  private readonly counts = { inbound: 0, outbound: 0 };
  private readonly lastTs = { inbound: -1, outbound: -1 };
  private messages = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly subjects: Subjects,
    readonly tracks: Track[] = ['inbound', 'outbound'],
  ) {}

  async start(): Promise<void> {
    const at = new Date().toISOString();
    const { callSid, streamSid } = this;
    await publishEvent(
      this.js,
      this.subjects.call(callSid, 'started'),
      callEvents.started({
        callSid,
        at,
        accountSid: ACCOUNT_SID,
        from: AGENT,
        to: '',
        toNumber: TECHNICIAN_NUMBER,
        direction: 'inbound',
      }),
      `${callSid}:started`,
    );
    await publishEvent(
      this.js,
      this.subjects.call(callSid, 'stream-started'),
      callEvents.streamStarted({
        callSid,
        at,
        streamSid,
        accountSid: ACCOUNT_SID,
        tracks: this.tracks,
        speakers: SPEAKERS,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: {},
      }),
      `${streamSid}:stream-started`,
    );
  }

  /** Valid frames at these timestamps (deterministic payloads), remembered for the expected audio. */
  framesAt(track: Track, timestamps: Iterable<number>): SentFrame[] {
    const out: SentFrame[] = [];
    for (const ts of timestamps) {
      const bytes = framePayload(this.callSid, track, ts);
      out.push({ timestampMs: ts, payload: bytes.toString('base64') });
    }
    return out;
  }

  /**
   * Publishes one media message of one track, as `media.frames.v2` (binary) or v1 (JSON, a gateway from before
   * it; `v3` sends a v3 message with this track only); `valid: false` frames are not expected in the files.
   */
  async send(
    track: Track,
    frames: SentFrame[],
    {
      valid = true,
      subject,
      format = 'v1',
    }: { valid?: boolean; subject?: string; format?: MediaFormat } = {},
  ): Promise<void> {
    if (format === 'v3') return this.sendCall({ [track]: frames }, { valid, subject });
    const body = {
      type: 'media.frames.v1',
      callSid: this.callSid,
      streamSid: this.streamSid,
      track,
      speaker: SPEAKERS[track],
      receivedAt: new Date().toISOString(),
      frames: frames.map((f, i) => ({
        chunk: this.counts[track] + i + 1,
        timestampMs: f.timestampMs,
        payload: f.payload,
      })),
    };
    this.messages += 1;
    const data =
      format === 'v1'
        ? JSON.stringify(body)
        : encodeMediaFramesV2({
            ...body,
            frames: body.frames.map((f) => ({ ...f, payload: Buffer.from(f.payload, 'base64') })),
          });
    await this.js.publish(subject ?? this.subjects.media(this.callSid, track), data, {
      msgID: `${this.streamSid}:${track}:${this.messages}`,
    });
    this.sent(track, frames, valid);
  }

  /** Publishes one `media.frames.v3` message with the frames of the tracks given (today's gateway). */
  async sendCall(
    frames: Partial<Record<Track, SentFrame[]>>,
    { valid = true, subject }: { valid?: boolean; subject?: string } = {},
  ): Promise<void> {
    const tracks = (Object.entries(frames) as Array<[Track, SentFrame[]]>).map(([track, list]) => ({
      track,
      speaker: SPEAKERS[track],
      frames: list.map((f, i) => ({
        chunk: this.counts[track] + i + 1,
        timestampMs: f.timestampMs,
        payload: Buffer.from(f.payload, 'base64'),
      })),
    }));
    const data = encodeMediaFramesV3({
      callSid: this.callSid,
      streamSid: this.streamSid,
      receivedAt: new Date().toISOString(),
      tracks,
    });
    this.messages += 1;
    await this.js.publish(subject ?? this.subjects.media(this.callSid, 'both'), data, {
      msgID: `${this.streamSid}:both:${this.messages}`,
    });
    for (const [track, list] of Object.entries(frames) as Array<[Track, SentFrame[]]>)
      this.sent(track, list, valid);
  }

  private sent(track: Track, frames: SentFrame[], valid: boolean): void {
    this.counts[track] += frames.length;
    if (!valid) return;
    for (const f of frames) {
      const bytes = Buffer.from(f.payload, 'base64');
      if (!this.frames[track].has(f.timestampMs)) this.frames[track].set(f.timestampMs, bytes);
      this.lastTs[track] = Math.max(this.lastTs[track], f.timestampMs);
    }
  }

  /**
   * Frames every 20 ms in [fromMs, toMs), sent `perMessage` at a time: as today's gateway sends them (v3, the
   * tracks in one message), or per track, interleaved (v1, v2).
   */
  async stream(
    fromMs: number,
    toMs: number,
    perMessage = 1,
    tracks: Track[] = this.tracks,
    format: MediaFormat = 'v3',
  ): Promise<void> {
    for (let ts = fromMs; ts < toMs; ts += 20 * perMessage) {
      const timestamps = Array.from(
        { length: Math.min(perMessage, (toMs - ts) / 20) },
        (_, i) => ts + 20 * i,
      );
      if (format === 'v3')
        await this.sendCall(Object.fromEntries(tracks.map((t) => [t, this.framesAt(t, timestamps)])));
      else for (const track of tracks) await this.send(track, this.framesAt(track, timestamps), { format });
    }
  }

  /** The gateway's stop: counts of what it published (plus `lost`), last timestamps as given or as sent. */
  async stop({
    lost = { inbound: 0, outbound: 0 },
    lastTimestampMs = this.lastTs,
  }: { lost?: Record<Track, number>; lastTimestampMs?: Record<Track, number> } = {}): Promise<void> {
    const { callSid, streamSid } = this;
    await publishEvent(
      this.js,
      this.subjects.call(callSid, 'stream-stopped'),
      callEvents.streamStopped({
        callSid,
        at: new Date().toISOString(),
        streamSid,
        reason: 'stop',
        framesReceived: {
          inbound: this.counts.inbound + lost.inbound,
          outbound: this.counts.outbound + lost.outbound,
        },
        framesLost: lost,
        lastTimestampMs,
      }),
      `${streamSid}:stream-stopped`,
    );
  }

  async end(): Promise<void> {
    await publishEvent(
      this.js,
      this.subjects.call(this.callSid, 'ended'),
      callEvents.ended({
        callSid: this.callSid,
        at: new Date().toISOString(),
        status: 'completed',
        durationSeconds: 1,
      }),
      `${this.callSid}:ended`,
    );
  }

  /** Where the files must end: the latest valid frame of any track. */
  endMs(): number {
    return Math.max(...this.tracks.map((t) => this.lastTs[t] + 20), 0);
  }

  /** The exact 8 kHz PCM a speaker's WAV must hold: frames placed by timestamp, silence elsewhere. */
  expectedPcm8k(track: Track, endMs = this.endMs()): Int16Array {
    const mulaw = new Uint8Array(endMs * SAMPLES_PER_MS).fill(MULAW_SILENCE);
    const written = new Uint8Array(mulaw.length);
    for (const ts of [...this.frames[track].keys()].sort((a, b) => a - b)) {
      const bytes = this.frames[track].get(ts)!;
      const start = ts * SAMPLES_PER_MS;
      for (let i = 0; i < bytes.length && start + i < mulaw.length; i++) {
        if (!written[start + i]) {
          mulaw[start + i] = bytes[i]!;
          written[start + i] = 1;
        }
      }
    }
    return decodeMulaw(mulaw);
  }

  /** 16 kHz: the whole 8 kHz PCM through one upsampler. */
  expectedPcm16k(track: Track, endMs = this.endMs()): Int16Array {
    const upsampler = new Upsampler2x();
    const pcm8k = this.expectedPcm8k(track, endMs);
    const body = upsampler.process(pcm8k);
    const tail = upsampler.flush();
    const out = new Int16Array(body.length + tail.length);
    out.set(body);
    out.set(tail, body.length);
    return out;
  }

  /** Milliseconds of each speaker's file not covered by a valid frame. */
  expectedGapMs(track: Track, endMs = this.endMs()): number {
    const covered = new Uint8Array(endMs * SAMPLES_PER_MS);
    for (const [ts, bytes] of this.frames[track])
      covered.fill(1, ts * SAMPLES_PER_MS, ts * SAMPLES_PER_MS + bytes.length);
    return Math.round(covered.reduce((n, c) => n + (c ? 0 : 1), 0) / SAMPLES_PER_MS);
  }
}
