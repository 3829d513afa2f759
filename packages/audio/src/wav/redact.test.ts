import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWavHeader, wavHeader } from './header.js';
import {
  REDACTION_TONE_PEAK,
  redactWav,
  redactedSample,
  spanFrames,
  type RedactionSpan,
  type WavRedaction,
} from './redact.js';

const workDir = mkdtempSync(join(tmpdir(), 'calltx-redact-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Real speech (espeak-ng), through sox to a 16-bit PCM WAV of `rate` Hz and `channels` channels. */
function speechWav(name: string, text: string, rate: number, channels: number): Buffer {
  const raw = join(workDir, `${name}-raw.wav`);
  const out = join(workDir, `${name}.wav`);
  execFileSync('espeak-ng', ['-w', raw, text]);
  const remix = channels === 2 ? ['remix', '1', '1v0.5'] : [];
  execFileSync('sox', [
    raw,
    '-r',
    String(rate),
    '-c',
    String(channels),
    '-b',
    '16',
    '-e',
    'signed-integer',
    out,
    ...remix,
  ]);
  return readFileSync(out);
}

async function redact(wav: Buffer, redaction: WavRedaction, cuts: number[]): Promise<Buffer> {
  async function* chunks(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const cut of [...cuts, wav.length]) {
      if (cut > offset) yield wav.subarray(offset, cut);
      offset = cut;
    }
  }
  const out: Buffer[] = [];
  for await (const chunk of redactWav(chunks(), redaction)) out.push(chunk);
  return Buffer.concat(out);
}

/** Every sample outside the spans bit-identical, every covered one exactly the fill; the header unchanged. */
function expectRedacted(original: Buffer, redacted: Buffer, redaction: WavRedaction): number {
  const info = parseWavHeader(original);
  expect(redacted.length).toBe(original.length);
  expect(Buffer.compare(redacted.subarray(0, info.dataOffset), original.subarray(0, info.dataOffset))).toBe(
    0,
  );
  const frames = info.dataBytes / info.blockAlign;
  let covered = 0;
  for (let frame = 0; frame < frames; frame++) {
    for (let c = 0; c < info.channels; c++) {
      const at = info.dataOffset + frame * info.blockAlign + 2 * c;
      const inSpan = redaction.spans.some((span) => {
        const { start, end } = spanFrames(span, info.sampleRate);
        return frame >= start && frame < end && (span.channel === undefined || span.channel === c);
      });
      const want = inSpan ? redactedSample(redaction.fill, frame, info.sampleRate) : original.readInt16LE(at);
      if (redacted.readInt16LE(at) !== want)
        throw new Error(`frame ${frame} channel ${c}: ${redacted.readInt16LE(at)}, want ${want}`);
      if (inSpan) covered += 1;
    }
  }
  return covered;
}

describe('redactWav', () => {
  const mono8k = speechWav(
    'mono8k',
    'My card number is four five three nine, one four eight eight.',
    8000,
    1,
  );
  const stereo = speechWav(
    'stereo',
    'Call me back on four one five, five five five, oh one three two.',
    8000,
    2,
  );

  it('silences exactly the span of a speech WAV and leaves every other byte as it was, however it is chunked', async () => {
    const redaction: WavRedaction = { fill: 'silence', spans: [{ startMs: 1_203, endMs: 2_417 }] };
    const whole = await redact(mono8k, redaction, []);
    // Cut mid-sample, mid-header and at odd places: the same bytes come out.
    const chunked = await redact(mono8k, redaction, [1, 3, 43, 45, 9_627, 9_628, 19_301, 30_000]);
    expect(Buffer.compare(chunked, whole)).toBe(0);
    // 1203 ms → frame 9624 (floor), 2417 ms → 19336 (ceil): 9712 frames.
    expect(expectRedacted(mono8k, whole, redaction)).toBe(19_336 - 9_624);
    // The original had speech there: something was actually removed.
    const info = parseWavHeader(mono8k);
    let energy = 0;
    for (let f = 9_624; f < 19_336; f++) energy += Math.abs(mono8k.readInt16LE(info.dataOffset + 2 * f));
    expect(energy).toBeGreaterThan(0);
  });

  it('covers with the tone, the same samples on a second pass (idempotent), spans clipped to the file', async () => {
    const spans: RedactionSpan[] = [
      { startMs: 500, endMs: 900 },
      { startMs: 700, endMs: 1_100 },
      { startMs: 59_000, endMs: 61_000 },
    ];
    const redaction: WavRedaction = { fill: 'tone', spans };
    const once = await redact(mono8k, redaction, [1_000]);
    const twice = await redact(once, redaction, [77]);
    expect(Buffer.compare(twice, once)).toBe(0);
    expectRedacted(mono8k, once, redaction);
    const info = parseWavHeader(once);
    const peak = Math.max(
      ...Array.from({ length: 800 }, (_, i) => once.readInt16LE(info.dataOffset + 2 * (4_000 + i))),
    );
    expect(peak).toBe(REDACTION_TONE_PEAK);
  });

  it('covers one channel of a dual-channel WAV and leaves the other bit-identical', async () => {
    const redaction: WavRedaction = { fill: 'silence', spans: [{ startMs: 800, endMs: 1_650, channel: 1 }] };
    const redacted = await redact(stereo, redaction, [44, 4_001, 4_003, 11_111]);
    expect(expectRedacted(stereo, redacted, redaction)).toBe(1_650 * 8 - 800 * 8);
  });

  it('refuses what is not 16-bit PCM', async () => {
    const header = wavHeader({ sampleRate: 8000, channels: 1, bitsPerSample: 8, dataBytes: 100 });
    await expect(
      redact(Buffer.concat([header, Buffer.alloc(100)]), { fill: 'silence', spans: [] }, []),
    ).rejects.toThrow(/16-bit PCM/);
  });
});
