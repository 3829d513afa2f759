import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { wavHeader } from '@calltx/audio';
import { deployedImage } from '@calltx/deploy-check';
import { natsUrlForTests, postgresForTests, startEmbeddedS3 } from '@calltx/devstack';
import { Subjects, recordingEvents } from '@calltx/events';
import { createLogger } from '@calltx/runtime';
import { createObjectStore } from '@calltx/storage';
import { createPool } from '@calltx/db';
import { provisionStreams, publishEvent } from '@calltx/nats';
import { startFakeTwilioApi } from '@calltx/twilio-sim';
import { startChild } from './gateway/processes.js';
import { scrape, sum } from './gateway/prometheus.js';
import { loadAverage, machineSummary } from './machine.js';

/**
 * `pnpm bench:fetcher`: a long dual-channel recording (default 60 min, 8 kHz, 16-bit) served by the fake Twilio
 * API, fetched by the real recording-fetcher (child process; real NATS and Postgres; s3rver in a process of its
 * own): time from the `completed` callback to the row saying `stored`, the fetcher's CPU time and peak RSS.
 * Each round, sox splits the same file from local disk into the two mono files, for comparison.
 */
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '3' },
    's3-server': { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const ROUNDS = Number(args.rounds);
const SAMPLE_RATE = 8000;
const ACCOUNT_SID = `AC${'b'.repeat(32)}`;
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const S3 = {
  accessKey: 'bench-fetcher',
  secretKey: 'bench-fetcher-secret',
  bucket: 'bench-fetcher',
  region: 'us-east-1',
};
const FETCHER_MAIN = fileURLToPath(
  new URL('../../../services/recording-fetcher/dist/main.js', import.meta.url),
);
const RSS_TARGET_MB = 128;
/** The fetcher runs as its image runs it. */
const FETCHER_NODE_OPTIONS = deployedImage('recording-fetcher').env.NODE_OPTIONS ?? '';
const run = promisify(execFile);

/** A dual-channel 16-bit WAV: a different tone per channel. */
function dualChannelWav(minutes: number): Buffer {
  const frames = minutes * 60 * SAMPLE_RATE;
  const wav = Buffer.allocUnsafe(44 + frames * 4);
  wavHeader({ sampleRate: SAMPLE_RATE, channels: 2, bitsPerSample: 16, dataBytes: frames * 4 }).copy(wav);
  for (let i = 0, o = 44; i < frames; i += 1, o += 4) {
    wav.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE)), o);
    wav.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 660 * i) / SAMPLE_RATE)), o + 2);
  }
  return wav;
}

/** Peak resident set of a live process (Linux), in MiB. */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

async function timeSoxSplit(input: string, dir: string): Promise<number> {
  const started = performance.now();
  await run('sox', [input, join(dir, 'agent.wav'), 'remix', '1']);
  await run('sox', [input, join(dir, 'technician.wav'), 'remix', '2']);
  return (performance.now() - started) / 1000;
}

/** s3rver in its own process, so its work does not share a core with the fake Twilio API or this script. */
async function startS3Process(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--s3-server'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return {
    endpoint: line.toString().trim(),
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function serveS3(): Promise<void> {
  const s3 = await startEmbeddedS3(S3);
  process.stdout.write(`${s3.endpoint}\n`);
  process.once('SIGTERM', () => void s3.stop().then(() => process.exit(0)));
}

/** Reference: the same three objects uploaded straight from memory, as the fetcher uploads them (5 MiB parts). */
async function timeStoreAlone(endpoint: string, wav: Buffer): Promise<number> {
  const store = createObjectStore({ endpoint, ...S3, partSizeBytes: 5 * 1024 * 1024 });
  const chunks = async function* (bytes: Buffer) {
    for (let offset = 0; offset < bytes.length; offset += 65_536)
      yield bytes.subarray(offset, offset + 65_536);
  };
  const half = wav.subarray(0, 44 + (wav.length - 44) / 2);
  const started = performance.now();
  await Promise.all([
    store.putStream('reference/dual.wav', chunks(wav)),
    store.putStream('reference/a.wav', chunks(half)),
    store.putStream('reference/b.wav', chunks(half)),
  ]);
  return (performance.now() - started) / 1000;
}

/** Reference: the download alone, bytes dropped. */
async function timeDownloadAlone(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}` },
  });
  for await (const chunk of res.body!) void chunk;
  return (performance.now() - started) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const dir = await mkdtemp(join(tmpdir(), 'bench-fetcher-'));
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const subjects = new Subjects(prefix);
  const natsUrl = natsUrlForTests();
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const [database, s3] = await Promise.all([postgresForTests(), startS3Process()]);
  const twilio = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const db = createPool(database.url, { max: 1 });
  try {
    console.log(
      `recording-fetcher benchmark: ${MINUTES} min dual-channel ${SAMPLE_RATE} Hz 16-bit, ${ROUNDS} rounds; ${cpus().length} cores (${cpus()[0]?.model}); NODE_OPTIONS as deployed: ${FETCHER_NODE_OPTIONS || '(none)'}`,
    );
    const wav = dualChannelWav(MINUTES);
    const input = join(dir, 'dual.wav');
    await writeFile(input, wav);
    const recordings = Array.from({ length: ROUNDS }, () => ({
      callSid: `CA${randomBytes(16).toString('hex')}`,
      recordingSid: `RE${randomBytes(16).toString('hex')}`,
    }));
    for (const { callSid, recordingSid } of recordings) twilio.addRecording(recordingSid, wav, { callSid });
    await provisionStreams(
      jsm,
      subjects,
      ['recordings', 'transcribe'],
      createLogger({ service: 'bench', level: 'silent' }),
    );

    const fetcher = await startChild(
      FETCHER_MAIN,
      {
        NODE_OPTIONS: FETCHER_NODE_OPTIONS,
        NATS_URL: natsUrl,
        NATS_SUBJECT_PREFIX: prefix,
        DATABASE_URL: database.url,
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: S3.region,
        S3_ACCESS_KEY: S3.accessKey,
        S3_SECRET_KEY: S3.secretKey,
        S3_BUCKET: S3.bucket,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_API_BASE_URL: twilio.url,
        PORT: '0',
        LOG_LEVEL: 'info',
      },
      'recording-fetcher listening',
    );
    const metricsUrl = `http://127.0.0.1:${fetcher.port}/metrics`;
    const idleRssMb = await peakRssMb(fetcher.process.pid!);

    const rounds: Array<{
      fetcherSeconds: number;
      cpuSeconds: number;
      soxSeconds: number;
      storeSeconds: number;
      downloadSeconds: number;
    }> = [];
    for (const { callSid, recordingSid } of recordings) {
      const event = recordingEvents.status({
        callSid,
        at: new Date().toISOString(),
        accountSid: ACCOUNT_SID,
        recordingSid,
        status: 'completed',
        channels: 2,
        durationSeconds: MINUTES * 60,
      });
      const cpuBefore = sum(await scrape(metricsUrl), 'process_cpu_seconds_total');
      const started = performance.now();
      await publishEvent(
        jetstream(nc),
        subjects.recording(callSid, 'completed'),
        event,
        `${recordingSid}:completed`,
      );
      let row: { status: string; error_code: string | null } | undefined;
      for (const deadline = Date.now() + 30 * 60_000; Date.now() < deadline;) {
        row = (
          await db.query<{ status: string; error_code: string | null }>(
            'SELECT status, error_code FROM recordings WHERE recording_sid = $1',
            [recordingSid],
          )
        ).rows[0];
        if (row?.status === 'stored' || row?.status === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const fetcherSeconds = (performance.now() - started) / 1000;
      if (row?.status !== 'stored')
        throw new Error(`the recording was not stored: ${row?.error_code ?? 'timed out'}`);
      const cpuSeconds = sum(await scrape(metricsUrl), 'process_cpu_seconds_total') - cpuBefore;
      const soxSeconds = await timeSoxSplit(input, dir);
      const storeSeconds = await timeStoreAlone(s3.endpoint, wav);
      const downloadSeconds = await timeDownloadAlone(
        `${twilio.recordingUrl(recordingSid)}.wav?RequestedChannels=2`,
      );
      rounds.push({ fetcherSeconds, cpuSeconds, soxSeconds, storeSeconds, downloadSeconds });
      console.log(
        `round ${rounds.length}: fetcher ${fetcherSeconds.toFixed(2)} s (CPU ${cpuSeconds.toFixed(2)} s), sox ${soxSeconds.toFixed(2)} s, ` +
          `store alone ${storeSeconds.toFixed(2)} s, download alone ${downloadSeconds.toFixed(2)} s`,
      );
    }
    const peakMb = await peakRssMb(fetcher.process.pid!);
    await fetcher.stop();

    const fetcherSeconds = median(rounds.map((r) => r.fetcherSeconds));
    const soxSeconds = median(rounds.map((r) => r.soxSeconds));
    const ratio = fetcherSeconds / soxSeconds;
    console.log('\n| measure (median of rounds) | value | target |');
    console.log('| --- | ---: | ---: |');
    console.log(`| recording | ${MINUTES} min, ${(wav.length / 1024 / 1024).toFixed(1)} MiB | |`);
    console.log(
      `| fetcher: download + verify + split + store 3 objects | ${fetcherSeconds.toFixed(2)} s | |`,
    );
    console.log(`| fetcher CPU time | ${median(rounds.map((r) => r.cpuSeconds)).toFixed(2)} s | |`);
    console.log(`| sox split alone (remix 1 + remix 2, local disk) | ${soxSeconds.toFixed(2)} s | |`);
    console.log(`| ratio fetcher / sox | ${ratio.toFixed(2)} | ≤ 2 |`);
    const storeSeconds = median(rounds.map((r) => r.storeSeconds));
    console.log(
      `| reference: the 3 objects uploaded from memory to s3rver | ${storeSeconds.toFixed(2)} s | |`,
    );
    // The fetcher cannot finish before its store has taken the objects: this ratio bounds the one above.
    console.log(
      `| ratio store alone / sox (a floor for the fetcher's ratio) | ${(storeSeconds / soxSeconds).toFixed(2)} | |`,
    );
    console.log(
      `| reference: download alone from the fake Twilio API | ${median(rounds.map((r) => r.downloadSeconds)).toFixed(2)} s | |`,
    );
    console.log(
      `| fetcher peak RSS, all rounds (after start-up: ${idleRssMb.toFixed(0)} MiB) | ${peakMb.toFixed(0)} MiB | ≤ ${RSS_TARGET_MB} MiB |`,
    );
    const round = (value: number) => Number(value.toFixed(2));
    console.log(
      `\n${peakMb <= RSS_TARGET_MB && ratio <= 2 ? 'PASS' : 'MISS'}: peak RSS ${peakMb <= RSS_TARGET_MB ? '≤' : '>'} ${RSS_TARGET_MB} MiB, time ${ratio <= 2 ? '≤' : '>'} 2× sox.`,
    );
    console.log(
      JSON.stringify({
        bench: 'fetcher',
        machine: machineSummary(loadAtStart),
        minutes: MINUTES,
        rounds: ROUNDS,
        fetcherSeconds: round(fetcherSeconds),
        soxSeconds: round(soxSeconds),
        ratioToSox: round(ratio),
        storeAloneSeconds: round(storeSeconds),
        peakRssMiB: Math.round(peakMb),
        rssTargetMiB: RSS_TARGET_MB,
      }),
    );
  } finally {
    await db.end();
    await twilio.close();
    for (const family of ['recordings', 'transcribe'] as const)
      await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
    await nc.close();
    await Promise.all([database.stop(), s3.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await (args['s3-server'] ? serveS3() : main());
