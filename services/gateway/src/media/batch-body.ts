import type { TrackIdentity } from './publisher.js';

export interface BatchFrame {
  chunk: number;
  timestampMs: number;
  /** Twilio's base64, already checked against the base64 alphabet: nothing in it needs escaping. */
  payload: string;
}

/**
 * Encodes `media.frames.v1` messages for one track. The track's fields are serialised once by JSON.stringify;
 * each batch only adds its time and frames, whose values were checked on receipt (integers, base64), so they
 * are written as they are: about a third of the time JSON.stringify of the whole message takes, which was
 * the largest single item in the gateway's profile at 500 calls (docs/benchmarks.md).
 */
export class BatchEncoder {
  readonly #prefix: string;

  constructor(identity: TrackIdentity) {
    const { callSid, streamSid, track, speaker } = identity;
    const head = JSON.stringify({ type: 'media.frames.v1', callSid, streamSid, track, speaker });
    this.#prefix = `${head.slice(0, -1)},"receivedAt":"`;
  }

  encode(receivedAt: Date, frames: readonly BatchFrame[]): Buffer {
    let json = `${this.#prefix}${receivedAt.toISOString()}","frames":[`;
    for (let i = 0; i < frames.length; i += 1) {
      const { chunk, timestampMs, payload } = frames[i]!;
      json += `${i === 0 ? '' : ','}{"chunk":${chunk},"timestampMs":${timestampMs},"payload":"${payload}"}`;
    }
    return Buffer.from(`${json}]}`);
  }
}
