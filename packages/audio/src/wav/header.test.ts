import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';
import { afterAll, describe, expect, it } from 'vitest';
import { WavFormatError } from './errors.js';
import {
  WAVE_FORMAT_IEEE_FLOAT,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
  WAV_HEADER_BYTES,
  parseWavHeader,
  wavHeader,
  type WavHeaderFields,
} from './header.js';
import { pcm16leBytes } from './pcm-bytes.js';

const workDir = mkdtempSync(join(tmpdir(), 'calltx-wav-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface WaveFileFmt {
  audioFormat: number;
  numChannels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function chunk(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'latin1');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body, Buffer.alloc(body.length & 1)]);
}

function riff(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE'), ...chunks]);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** The fmt chunk of 16-bit mono 8 kHz PCM, as in the canonical header. */
const pcmFmt = wavHeader({ sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: 0 }).subarray(20, 36);

function soxWav(name: string, args: string[]): Buffer {
  const path = join(workDir, name);
  execFileSync('sox', ['-n', ...args, path, 'synth', '0.01', 'sine', '440']);
  return readFileSync(path);
}

function parseError(buf: Buffer): WavFormatError {
  try {
    parseWavHeader(buf);
  } catch (error) {
    if (error instanceof WavFormatError) return error;
    throw error;
  }
  throw new Error('parseWavHeader accepted the input');
}

describe('wavHeader', () => {
  const samples = Int16Array.from(
    { length: 801 * 2 },
    (_, i) => Math.round(20000 * Math.sin(i / 7)) - (i % 3),
  );

  it.each<[string, Omit<WavHeaderFields, 'dataBytes'>]>([
    ['8 kHz mono', { sampleRate: 8000, channels: 1, bitsPerSample: 16 }],
    ['16 kHz mono', { sampleRate: 16000, channels: 1, bitsPerSample: 16 }],
    ['8 kHz stereo', { sampleRate: 8000, channels: 2, bitsPerSample: 16 }],
  ])('%s reads back through wavefile with the samples intact', (_, fields) => {
    const data = pcm16leBytes(samples);
    const file = Buffer.concat([wavHeader({ ...fields, dataBytes: data.length }), data]);
    const wav = new wavefile.WaveFile(file);
    const fmt = wav.fmt as WaveFileFmt;
    expect(wav.container).toBe('RIFF');
    expect(wav.chunkSize).toBe(file.length - 8);
    expect(fmt).toMatchObject({
      audioFormat: WAVE_FORMAT_PCM,
      numChannels: fields.channels,
      sampleRate: fields.sampleRate,
      byteRate: fields.sampleRate * fields.channels * 2,
      blockAlign: fields.channels * 2,
      bitsPerSample: 16,
    });
    expect(Int16Array.from(wav.getSamples(true))).toEqual(samples);
  });

  it('is byte-identical to the header wavefile writes for the same format', () => {
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 16000, '16', Array.from(samples));
    const theirs = Buffer.from(wav.toBuffer());
    const ours = wavHeader({
      sampleRate: 16000,
      channels: 1,
      bitsPerSample: 16,
      dataBytes: samples.length * 2,
    });
    expect(ours.length).toBe(WAV_HEADER_BYTES);
    expect(ours.toString('hex')).toBe(theirs.subarray(0, WAV_HEADER_BYTES).toString('hex'));
  });

  it('counts the pad byte of odd-sized 8-bit data in the RIFF size, which sox then reads', () => {
    const data = Buffer.from([128, 130, 126]);
    const file = Buffer.concat([
      wavHeader({ sampleRate: 8000, channels: 1, bitsPerSample: 8, dataBytes: 3 }),
      data,
      Buffer.alloc(1),
    ]);
    expect(file.readUInt32LE(4)).toBe(file.length - 8);
    const path = join(workDir, 'odd.wav');
    writeFileSync(path, file);
    expect(execFileSync('sox', ['--i', '-s', path]).toString().trim()).toBe('3');
    expect(execFileSync('sox', ['--i', '-r', path]).toString().trim()).toBe('8000');
  });

  it('rejects fields a canonical PCM header cannot hold', () => {
    const ok: WavHeaderFields = { sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: 2 };
    expect(() => wavHeader({ ...ok, dataBytes: 3 })).toThrow(/whole number of 2-byte frames/);
    expect(() => wavHeader({ ...ok, dataBytes: 2 ** 32 })).toThrow(RangeError);
    expect(() => wavHeader({ ...ok, sampleRate: 0 })).toThrow(RangeError);
    expect(() => wavHeader({ ...ok, channels: 1.5 })).toThrow(RangeError);
    expect(() => wavHeader({ ...ok, bitsPerSample: 12 as 16 })).toThrow(RangeError);
    expect(() => wavHeader({ ...ok, dataBytes: 0xffffffff - 36 - 1 })).not.toThrow();
  });
});

describe('parseWavHeader', () => {
  it('reads back the canonical header', () => {
    const header = wavHeader({ sampleRate: 16000, channels: 2, bitsPerSample: 16, dataBytes: 64_000 });
    expect(parseWavHeader(header)).toEqual({
      formatCode: WAVE_FORMAT_PCM,
      extensible: false,
      channels: 2,
      sampleRate: 16000,
      bitsPerSample: 16,
      blockAlign: 4,
      dataOffset: 44,
      dataBytes: 64_000,
    });
  });

  it('reads sox-written files: stereo PCM, mu-law with fact chunk, float, WAVE_FORMAT_EXTENSIBLE', () => {
    expect(parseWavHeader(soxWav('st.wav', ['-r', '8000', '-b', '16', '-c', '2']))).toMatchObject({
      formatCode: WAVE_FORMAT_PCM,
      channels: 2,
      bitsPerSample: 16,
      dataOffset: 44,
      dataBytes: 80 * 4,
    });
    expect(parseWavHeader(soxWav('mu.wav', ['-r', '8000', '-e', 'mu-law', '-c', '1']))).toMatchObject({
      formatCode: WAVE_FORMAT_MULAW,
      extensible: false,
      bitsPerSample: 8,
      dataOffset: 58,
      dataBytes: 80,
    });
    expect(
      parseWavHeader(soxWav('fl.wav', ['-r', '8000', '-e', 'floating-point', '-b', '32'])),
    ).toMatchObject({
      formatCode: WAVE_FORMAT_IEEE_FLOAT,
      bitsPerSample: 32,
      blockAlign: 4,
    });
    expect(parseWavHeader(soxWav('ext.wav', ['-r', '8000', '-b', '24', '-c', '3']))).toMatchObject({
      formatCode: WAVE_FORMAT_PCM,
      extensible: true,
      channels: 3,
      sampleRate: 8000,
      bitsPerSample: 24,
      blockAlign: 9,
      dataBytes: 80 * 9,
    });
  });

  it('skips LIST and odd-sized chunks (with their pad byte) before the data', () => {
    const list = chunk('LIST', Buffer.concat([Buffer.from('INFO'), chunk('ISFT', Buffer.from('Lavf58\0'))]));
    const odd = chunk('junk', Buffer.from([1, 2, 3]));
    const file = riff(chunk('fmt ', pcmFmt), list, odd, chunk('data', Buffer.alloc(10)));
    const info = parseWavHeader(file);
    expect(info.dataOffset).toBe(file.length - 10);
    expect(info.dataBytes).toBe(10);
  });

  it('reports truncation for every prefix that stops before the data', () => {
    const list = chunk('LIST', Buffer.alloc(30));
    const file = riff(chunk('fmt ', pcmFmt), list, chunk('data', Buffer.alloc(8)));
    const dataOffset = parseWavHeader(file).dataOffset;
    for (let length = 0; length < dataOffset; length++) {
      expect(parseError(file.subarray(0, length)).problem).toBe('truncated');
    }
    expect(parseError(file.subarray(0, 40)).message).toBe(
      'WAV chunk header at offset 36 needs 44 bytes, only 40 available',
    );
  });

  it('rejects non-RIFF, unsupported and corrupt input with a named error', () => {
    const notRiff = parseError(Buffer.from('ID3\x04\0\0\0\0\0\0\0\0\0\0\0\0', 'latin1'));
    expect(notRiff).toBeInstanceOf(WavFormatError);
    expect(notRiff.name).toBe('WavFormatError');
    expect(notRiff.problem).toBe('not-riff');
    expect(notRiff.message).toContain('not a RIFF/WAVE file');

    const rf64 = Buffer.from(wavHeader({ sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: 0 }));
    rf64.write('RF64', 0, 'latin1');
    expect(parseError(rf64).problem).toBe('unsupported');

    const shortFmt = riff(chunk('fmt ', pcmFmt.subarray(0, 14)), chunk('data', Buffer.alloc(2)));
    expect(parseError(shortFmt)).toMatchObject({
      problem: 'corrupt',
      message: 'WAV fmt chunk is 14 bytes, at least 16 expected',
    });

    expect(parseError(riff(chunk('data', Buffer.alloc(2)), chunk('fmt ', pcmFmt))).problem).toBe('corrupt');

    const binaryId = riff(
      chunk('fmt ', pcmFmt),
      chunk('\x00\x01\x02\x03', Buffer.alloc(4)),
      chunk('data', Buffer.alloc(2)),
    );
    expect(parseError(binaryId)).toMatchObject({ problem: 'corrupt' });

    const badAlign = Buffer.from(pcmFmt);
    badAlign.writeUInt16LE(3, 12);
    expect(parseError(riff(chunk('fmt ', badAlign), chunk('data', Buffer.alloc(2)))).message).toContain(
      'blockAlign 3',
    );

    const ext = soxWav('ext2.wav', ['-r', '8000', '-b', '24', '-c', '3']);
    const guidByte = 20 + 24 + 8; // fmt body + sub-format GUID offset + into its fixed tail
    ext.writeUInt8(ext.readUInt8(guidByte) ^ 0xff, guidByte);
    expect(parseError(ext).problem).toBe('unsupported');
  });
});

describe('pcm16leBytes', () => {
  it('exposes the samples as little-endian bytes without copying', () => {
    const pcm = Int16Array.of(1, -2, 32767, -32768);
    const bytes = pcm16leBytes(pcm.subarray(1));
    expect(bytes.length).toBe(6);
    expect([bytes.readInt16LE(0), bytes.readInt16LE(2), bytes.readInt16LE(4)]).toEqual([-2, 32767, -32768]);
    bytes.writeInt16LE(7, 0);
    expect(pcm[1]).toBe(7);
  });
});
