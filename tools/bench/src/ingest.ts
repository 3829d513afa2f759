/**
 * Ingest audio benchmark: 8 kHz mu-law -> 16-bit WAV at 8 kHz and 16 kHz with @calltx/audio,
 * against sox doing the same conversion on the same input in the same run; filter quality of
 * both; per-call memory; and the npm libraries considered instead of the hand-written code.
 *
 * Build and run: pnpm tsc -b tools/bench && node tools/bench/dist/ingest.js
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Upsampler2x,
  decodeMulaw,
  measureUpsamplerResponse,
  pcm16leBytes,
  type UpsamplerResponse,
} from '@calltx/audio';
import { compareMulaw, compareUpsamplers } from './ingest/alternatives.js';
import {
  FILE_CHUNK_BYTES,
  TWILIO_FRAME_BYTES,
  convertOurs,
  convertSox,
  differenceDb,
  makeMulawInput,
  soxUpsample,
  wavSamples,
} from './ingest/convert.js';
import {
  bytesPerInstance,
  fixed,
  heapBytes,
  median,
  printTable,
  timeWithCpu,
  type Timing,
} from './ingest/measure.js';
import { loadAverage, machineSummary } from './machine.js';

const CALL_SECONDS = 600;
const RUNS = 5;
const CONCURRENT_CALLS = 1000;

/** One live call's audio state: its upsampler plus the decode/upsample buffers reused per frame. */
function newCallState() {
  return {
    upsampler: new Upsampler2x(),
    pcm8k: new Int16Array(TWILIO_FRAME_BYTES),
    pcm16k: new Int16Array(2 * TWILIO_FRAME_BYTES),
  };
}

function reportMemory(speech: Buffer): void {
  const upsamplerBytes = bytesPerInstance(() => new Upsampler2x());
  const stateBytes = bytesPerInstance(newCallState);
  heapBytes();
  const rssBefore = process.memoryUsage().rss;
  const calls = Array.from({ length: CONCURRENT_CALLS }, newCallState);
  const framesPerCall = 250; // 5 s of audio each, frame by frame across all calls
  const framesInSpeech = Math.floor(speech.length / TWILIO_FRAME_BYTES);
  const { cpu } = timeWithCpu(() => {
    for (let f = 0; f < framesPerCall; f++) {
      const at = (f % framesInSpeech) * TWILIO_FRAME_BYTES;
      const frame = speech.subarray(at, at + TWILIO_FRAME_BYTES);
      for (const call of calls) call.upsampler.process(decodeMulaw(frame, call.pcm8k), call.pcm16k);
    }
  }, 'self');
  const rssAfter = process.memoryUsage().rss;
  const mib = (bytes: number) => fixed(bytes / 2 ** 20);
  printTable(
    `Memory, ${CONCURRENT_CALLS} concurrent calls`,
    ['measure', 'value'],
    [
      ['Upsampler2x state, heap bytes per instance', fixed(upsamplerBytes, 0)],
      ['per-call state incl. reused 20 ms decode + upsample buffers, bytes', fixed(stateBytes, 0)],
      ['RSS of the bench process before the calls, MiB', mib(rssBefore)],
      [`RSS with ${calls.length} calls streaming 20 ms frames round-robin, MiB`, mib(rssAfter)],
      [
        `x real time per core, ${calls.length} calls interleaved frame by frame`,
        fixed((calls.length * framesPerCall * 0.02) / cpu, 0),
      ],
    ],
  );
}

type OutputFiles = Record<'ours8' | 'ours16' | 'sox8' | 'sox16', string>;

/** The headline of a throughput run: times real time per core (CPU), ours and sox's, and their ratio. */
interface Throughput {
  framesXRealTimePerCore: number;
  chunksXRealTimePerCore: number;
  soxXRealTimePerCore: number;
  framesSpeedVsSox: number;
}

function reportThroughput(input: string, dir: string): { files: OutputFiles; throughput: Throughput } {
  const out = {
    ours8: join(dir, 'ours8k.wav'),
    ours16: join(dir, 'ours16k.wav'),
    sox8: join(dir, 'sox8k.wav'),
    sox16: join(dir, 'sox16k.wav'),
  };
  const times = { frames: [] as Timing[], chunks: [] as Timing[], sox: [] as Timing[] };
  convertOurs(input, out.ours8, out.ours16, FILE_CHUNK_BYTES); // warm-up (JIT)
  for (let run = 0; run < RUNS; run++) {
    // Interleaved so that both see the same machine state.
    times.frames.push(
      timeWithCpu(() => convertOurs(input, out.ours8, out.ours16, TWILIO_FRAME_BYTES), 'self'),
    );
    times.chunks.push(timeWithCpu(() => convertOurs(input, out.ours8, out.ours16, FILE_CHUNK_BYTES), 'self'));
    times.sox.push(timeWithCpu(() => convertSox(input, out.sox8, out.sox16), 'children'));
  }
  const soxCpu = median(times.sox.map((t) => t.cpu));
  const cpuOf = (runs: Timing[]) => median(runs.map((t) => t.cpu));
  const row = (name: string, runs: Timing[]) => {
    const cpu = cpuOf(runs);
    const wall = median(runs.map((t) => t.wall));
    return [
      name,
      fixed(cpu, 3),
      fixed(CALL_SECONDS / cpu, 0),
      fixed(soxCpu / cpu, 2),
      fixed(wall, 3),
      fixed(CALL_SECONDS / wall, 0),
    ];
  };
  printTable(
    `Throughput: ${CALL_SECONDS} s of 8 kHz mu-law -> 8 kHz + 16 kHz 16-bit WAV files, one speaker, median of ${RUNS}`,
    ['converter', 'CPU s', 'x real time per core', 'speed vs sox (CPU)', 'wall s', 'x real time (wall)'],
    [
      row('ours, 20 ms frames (160 B) as from Twilio', times.frames),
      row('ours, 64 KiB chunks', times.chunks),
      row('sox: 8 kHz WAV, then rate -v 16 kHz WAV', times.sox),
    ],
  );
  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  return {
    files: out,
    throughput: {
      framesXRealTimePerCore: round(CALL_SECONDS / cpuOf(times.frames), 0),
      chunksXRealTimePerCore: round(CALL_SECONDS / cpuOf(times.chunks), 0),
      soxXRealTimePerCore: round(CALL_SECONDS / soxCpu, 0),
      framesSpeedVsSox: round(soxCpu / cpuOf(times.frames), 2),
    },
  };
}

function reportOutputCheck(
  files: OutputFiles,
  inputBytes: number,
): { same8kAsSox: boolean; diff16kDb: number } {
  const ours16 = wavSamples(files.ours16);
  const sox16 = wavSamples(files.sox16);
  const sameDecode = pcm16leBytes(wavSamples(files.ours8)).equals(pcm16leBytes(wavSamples(files.sox8)));
  const lags = [-2, -1, 0, 1, 2].map((lag) => ({ lag, db: differenceDb(ours16, sox16, lag) }));
  const best = lags.reduce((a, b) => (b.db < a.db ? b : a));
  const nextLag = lags.find((l) => l.lag === best.lag + 1) ?? best;
  printTable(
    'Output check against sox',
    ['check', 'result'],
    [
      ['8 kHz WAV data identical to sox', String(sameDecode)],
      ['16 kHz samples: ours / sox / 2 x input', `${ours16.length} / ${sox16.length} / ${2 * inputBytes}`],
      ['16 kHz lag at which ours matches sox best, samples', best.lag],
      ['16 kHz ours - sox at that lag, dB re signal', fixed(best.db)],
      ['16 kHz ours - sox one sample further, dB re signal', fixed(nextLag.db)],
    ],
  );
  return { same8kAsSox: sameDecode, diff16kDb: Number(best.db.toFixed(1)) };
}

function reportFilterQuality(): void {
  const row = (name: string, r: UpsamplerResponse) => [
    name,
    fixed(r.passbandDeviationDb, 6),
    fixed(r.passbandRippleDb, 6),
    fixed(r.minImageRejectionDb),
  ];
  printTable(
    'Filter quality: 34 tones 97.3 Hz..3397.3 Hz, -6 dBFS, measured on the int16 output',
    ['upsampler', 'passband max |gain| dB', 'passband ripple p-p dB', 'min image rejection dB'],
    [
      row('ours (half-band FIR, 127 taps)', measureUpsamplerResponse()),
      row('sox rate -v (its default dither)', measureUpsamplerResponse(soxUpsample)),
    ],
  );
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const dir = mkdtempSync(join(tmpdir(), 'calltx-bench-ingest-'));
  try {
    const { path: input, speech } = makeMulawInput(dir, CALL_SECONDS);
    reportMemory(speech); // first, while the process holds nothing else large
    const { files, throughput } = reportThroughput(input, dir);
    const mulaw = readFileSync(input);
    const output = reportOutputCheck(files, mulaw.length);
    reportFilterQuality();
    compareMulaw(mulaw);
    await compareUpsamplers(decodeMulaw(mulaw));
    const sox = execFileSync('sox', ['--version']).toString().trim().split(/\s+/).pop();
    console.log(`\nnode ${process.version}, sox ${sox}`);
    console.log(
      JSON.stringify({
        bench: 'ingest',
        machine: machineSummary(loadAtStart, { sox }),
        callSeconds: CALL_SECONDS,
        ...throughput,
        ...output,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
