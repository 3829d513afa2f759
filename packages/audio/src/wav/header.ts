import { WavFormatError } from './errors.js';

/** Size of the canonical header written by {@link wavHeader}. */
export const WAV_HEADER_BYTES = 44;

export const WAVE_FORMAT_PCM = 0x0001;
export const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
export const WAVE_FORMAT_ALAW = 0x0006;
export const WAVE_FORMAT_MULAW = 0x0007;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export interface WavHeaderFields {
  sampleRate: number;
  channels: number;
  bitsPerSample: 8 | 16 | 24 | 32;
  /** Bytes of sample data that will follow the header (a whole number of frames). */
  dataBytes: number;
}

function checkUint(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/**
 * The 44-byte canonical PCM header (RIFF, `fmt `, `data`). Written first, so the total size must
 * be known up front. An odd `dataBytes` (8-bit mono) needs one zero pad byte after the data; the
 * RIFF size already counts it.
 */
export function wavHeader({ sampleRate, channels, bitsPerSample, dataBytes }: WavHeaderFields): Buffer {
  checkUint('sampleRate', sampleRate, 1, 0xffffffff);
  checkUint('channels', channels, 1, 0xffff);
  if (![8, 16, 24, 32].includes(bitsPerSample))
    throw new RangeError(`bitsPerSample must be 8, 16, 24 or 32, got ${bitsPerSample}`);
  const blockAlign = channels * (bitsPerSample / 8);
  checkUint('blockAlign', blockAlign, 1, 0xffff);
  const padding = dataBytes & 1;
  checkUint('dataBytes', dataBytes, 0, 0xffffffff - (WAV_HEADER_BYTES - 8) - padding);
  if (dataBytes % blockAlign !== 0)
    throw new RangeError(`dataBytes ${dataBytes} is not a whole number of ${blockAlign}-byte frames`);

  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(WAV_HEADER_BYTES - 8 + dataBytes + padding, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(bitsPerSample, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

export interface WavInfo {
  /** Effective format code: for WAVE_FORMAT_EXTENSIBLE, the one in its sub-format GUID. */
  formatCode: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
  /** Offset of the first sample byte in the file. */
  dataOffset: number;
  /**
   * Size the `data` chunk declares. Writers that stream sometimes leave 0 or 0xFFFFFFFF here;
   * it is reported as found, and may exceed the bytes actually present.
   */
  dataBytes: number;
}

/** Bytes 4..15 of every standard KSDATAFORMAT_SUBTYPE_* GUID (the first 4 hold the format code). */
const SUBTYPE_GUID_TAIL = Buffer.from([
  0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
]);

function fourCC(buf: Buffer, offset: number): string {
  return buf.toString('latin1', offset, offset + 4);
}

function truncated(what: string, needed: number, have: number): WavFormatError {
  return new WavFormatError('truncated', `WAV ${what} needs ${needed} bytes, only ${have} available`);
}

interface FmtFields {
  formatCode: number;
  extensible: boolean;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function parseFmt(buf: Buffer, offset: number, size: number): FmtFields {
  if (size < 16) throw new WavFormatError('corrupt', `WAV fmt chunk is ${size} bytes, at least 16 expected`);
  const tag = buf.readUInt16LE(offset);
  const channels = buf.readUInt16LE(offset + 2);
  const sampleRate = buf.readUInt32LE(offset + 4);
  const blockAlign = buf.readUInt16LE(offset + 12);
  const bitsPerSample = buf.readUInt16LE(offset + 14);
  if (channels === 0 || sampleRate === 0 || blockAlign === 0) {
    throw new WavFormatError(
      'corrupt',
      `WAV fmt chunk has channels=${channels}, sampleRate=${sampleRate}, blockAlign=${blockAlign}`,
    );
  }

  let formatCode = tag;
  const extensible = tag === WAVE_FORMAT_EXTENSIBLE;
  if (extensible) {
    if (size < 40)
      throw new WavFormatError('corrupt', `WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, 40 expected`);
    const guid = offset + 24;
    if (!buf.subarray(guid + 4, guid + 16).equals(SUBTYPE_GUID_TAIL) || buf.readUInt16LE(guid + 2) !== 0) {
      throw new WavFormatError(
        'unsupported',
        `WAVE_FORMAT_EXTENSIBLE sub-format ${buf.toString('hex', guid, guid + 16)} is not a standard format code`,
      );
    }
    formatCode = buf.readUInt16LE(guid);
  }
  if ((formatCode === WAVE_FORMAT_PCM || formatCode === WAVE_FORMAT_IEEE_FLOAT) && bitsPerSample % 8 === 0) {
    const expected = channels * (bitsPerSample / 8);
    if (blockAlign !== expected) {
      throw new WavFormatError(
        'corrupt',
        `WAV blockAlign ${blockAlign} does not match ${channels} channels of ${bitsPerSample} bits`,
      );
    }
  }
  return { formatCode, extensible, channels, sampleRate, bitsPerSample, blockAlign };
}

/**
 * Reads the format and locates the sample data of a RIFF/WAVE file from its first bytes. Chunks
 * other than `fmt ` and `data` (LIST, fact, JUNK, ...) are skipped, including their pad byte.
 * `buf` need only reach the start of the data; throws {@link WavFormatError} otherwise, or when
 * the bytes are not a WAV file this can read.
 */
export function parseWavHeader(buf: Buffer): WavInfo {
  if (buf.length < 12) throw truncated('RIFF header', 12, buf.length);
  const container = fourCC(buf, 0);
  if (container === 'RIFX' || container === 'RF64') {
    throw new WavFormatError(
      'unsupported',
      `${container} WAV files are not supported (only little-endian RIFF)`,
    );
  }
  if (container !== 'RIFF' || fourCC(buf, 8) !== 'WAVE') {
    throw new WavFormatError(
      'not-riff',
      `not a RIFF/WAVE file (starts with ${JSON.stringify(buf.toString('latin1', 0, 12))})`,
    );
  }

  let fmt: FmtFields | undefined;
  let offset = 12;
  for (;;) {
    if (offset + 8 > buf.length) throw truncated(`chunk header at offset ${offset}`, offset + 8, buf.length);
    const id = fourCC(buf, offset);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'data') {
      if (fmt === undefined) throw new WavFormatError('corrupt', 'WAV data chunk comes before any fmt chunk');
      return { ...fmt, dataOffset: body, dataBytes: size };
    }
    if (id === 'fmt ') {
      if (body + size > buf.length) throw truncated('fmt chunk', body + size, buf.length);
      fmt = parseFmt(buf, body, size);
    } else if (!/^[\x20-\x7e]{4}$/.test(id)) {
      throw new WavFormatError(
        'corrupt',
        `WAV chunk id at offset ${offset} is not text (${buf.toString('hex', offset, offset + 4)})`,
      );
    }
    offset = body + size + (size & 1);
  }
}
