/** The npm libraries considered instead of the hand-written codec and upsampler. */
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import alawmulaw from 'alawmulaw';
import waveResampler from 'wave-resampler';
import {
  decodeMulaw,
  encodeMulaw,
  measureUpsamplerResponse,
  pcm16leBytes,
  upsampleWhole,
  type UpsampleFn,
} from '@calltx/audio';
import { fixed, printTable, realtimePerCore } from './measure.js';

export function compareMulaw(mulaw: Uint8Array): void {
  const allCodes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const decodeExact = pcm16leBytes(alawmulaw.mulaw.decode(allCodes)).equals(
    pcm16leBytes(decodeMulaw(allCodes)),
  );
  const allInt16 = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
  const ours = encodeMulaw(allInt16);
  const theirs = alawmulaw.mulaw.encode(allInt16);
  const encodeMismatches = ours.filter((c, i) => c !== theirs[i]).length;
  const frame = 160;
  const out = new Int16Array(frame);
  const inFrames = (decode: (bytes: Uint8Array) => unknown) => (all: Uint8Array) => {
    for (let i = 0; i < all.length; i += frame) decode(all.subarray(i, i + frame));
  };
  const speed = (decode: (bytes: Uint8Array) => unknown) => [
    fixed(
      realtimePerCore(mulaw, (x) => decode(x)),
      0,
    ),
    fixed(realtimePerCore(mulaw, inFrames(decode)), 0),
  ];
  printTable(
    `mu-law decode of ${mulaw.length / 8000} s: ours vs alawmulaw 6.0.0 (x real time per core)`,
    [
      'codec',
      'whole buffer',
      '20 ms frames',
      'decode = G.711 (256 codes)',
      'encode differs from G.191 (of 65536)',
    ],
    [
      [
        'ours (table lookup, reused output)',
        ...speed((x) => decodeMulaw(x, out.length === x.length ? out : undefined)),
        'true',
        '0',
      ],
      [
        'alawmulaw (new array per call)',
        ...speed((x) => alawmulaw.mulaw.decode(x)),
        String(decodeExact),
        String(encodeMismatches),
      ],
    ],
  );
}

const int16ToFloat = (x: Int16Array) => Float32Array.from(x, (v) => v / 32768);

const floatToInt16 = (y: ArrayLike<number>, scale: number) =>
  Int16Array.from(y, (v) => Math.max(-32768, Math.min(32767, Math.round(v * scale))));

interface Candidate {
  name: string;
  upsample: UpsampleFn;
  /** Seconds of the call to time it on: the slow ones get a shorter piece. */
  seconds: number;
  streaming: string;
  release?: () => void;
}

async function libsamplerateCandidate(name: string, converterType: 0 | 1 | 2): Promise<Candidate> {
  const src = await libsamplerate.create(1, 8000, 16000, { converterType });
  return {
    name: `libsamplerate-js 2.1 ${name}`,
    upsample: (x) => floatToInt16(src.simple(int16ToFloat(x)), 32768),
    seconds: 60,
    streaming: 'yes (float32, async wasm init)',
    release: () => src.destroy(),
  };
}

/** RSS added by one libsamplerate-js converter (each instantiates its own wasm memory). */
async function libsamplerateBytesPerInstance(): Promise<number> {
  const before = process.memoryUsage().rss;
  const instances = await Promise.all(
    Array.from({ length: 50 }, () => libsamplerate.create(1, 8000, 16000, { converterType: 0 })),
  );
  const bytes = (process.memoryUsage().rss - before) / instances.length;
  for (const src of instances) src.destroy();
  return bytes;
}

export async function compareUpsamplers(pcm: Int16Array): Promise<void> {
  const candidates: Candidate[] = [
    {
      name: 'ours Upsampler2x',
      upsample: upsampleWhole,
      seconds: pcm.length / 8000,
      streaming: 'yes (int16)',
    },
    {
      name: 'wave-resampler 1.0 cubic (default)',
      upsample: (x) => floatToInt16(waveResampler.resample(x, 8000, 16000), 1),
      seconds: 60,
      streaming: 'no',
    },
    {
      name: 'wave-resampler 1.0 sinc',
      upsample: (x) => floatToInt16(waveResampler.resample(x, 8000, 16000, { method: 'sinc' }), 1),
      seconds: 10,
      streaming: 'no',
    },
    await libsamplerateCandidate('SINC_BEST_QUALITY', 0),
    await libsamplerateCandidate('SINC_MEDIUM_QUALITY', 1),
    await libsamplerateCandidate('SINC_FASTEST', 2),
  ];
  const rows = candidates.map((c) => {
    const speed = realtimePerCore(pcm.subarray(0, c.seconds * 8000), c.upsample);
    const response = measureUpsamplerResponse(c.upsample);
    c.release?.();
    return [
      c.name,
      fixed(speed, 0),
      fixed(response.passbandDeviationDb, 4),
      fixed(response.minImageRejectionDb),
      c.streaming,
    ];
  });
  printTable(
    '8 -> 16 kHz upsamplers, whole-signal call incl. int16<->float conversion, same tone measurement',
    ['upsampler', 'x real time per core', 'passband max |gain| dB', 'min image rejection dB', 'streaming'],
    rows,
  );
  printTable(
    'libsamplerate-js streaming converter',
    ['measure', 'value'],
    [['RSS per converter instance, bytes (50 instances)', fixed(await libsamplerateBytesPerInstance(), 0)]],
  );
}
