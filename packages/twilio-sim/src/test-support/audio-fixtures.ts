import type { CallAudio } from '../audio/call-audio.js';

/**
 * A call of `seconds` at `sampleRate`: the agent speaks (a 300 Hz tone) in the first half, the technician
 * (a 700 Hz tone) in the second, the other side silent meanwhile.
 */
export function toneCall(seconds: number, sampleRate = 8000): CallAudio {
  const length = Math.round(seconds * sampleRate);
  const agent = new Int16Array(length);
  const technician = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    const t = i / sampleRate;
    if (i < length / 2) agent[i] = Math.round(8000 * Math.sin(2 * Math.PI * 300 * t));
    else technician[i] = Math.round(8000 * Math.sin(2 * Math.PI * 700 * t));
  }
  return { sampleRate, agent, technician };
}

/** ITU-T G.711 mu-law decoding, written out independently of the code under test. */
export function decodeMulawByte(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}
