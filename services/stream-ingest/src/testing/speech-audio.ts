import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRAME_BYTES } from '../frames/frame.js';
import type { SentFrame } from './synthetic-call.js';

/** Speech from espeak-ng, as Twilio would send it: 8 kHz mu-law. */
export function speechMulaw(text: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-speech-'));
  try {
    execFileSync('espeak-ng', ['-w', join(dir, 'speech.wav'), text]);
    execFileSync('sox', [
      join(dir, 'speech.wav'),
      '-r',
      '8000',
      '-c',
      '1',
      '-e',
      'mu-law',
      '-t',
      'raw',
      join(dir, 'speech.ul'),
    ]);
    return readFileSync(join(dir, 'speech.ul'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 20 ms frames of `audio` from `fromMs`, the last one padded with mu-law silence. */
export function framesOf(audio: Buffer, fromMs: number): SentFrame[] {
  const frames: SentFrame[] = [];
  for (let offset = 0; offset < audio.length; offset += FRAME_BYTES) {
    const payload = Buffer.alloc(FRAME_BYTES, 0xff);
    audio.copy(payload, 0, offset, offset + FRAME_BYTES);
    frames.push({ timestampMs: fromMs + (offset / FRAME_BYTES) * 20, payload: payload.toString('base64') });
  }
  return frames;
}
