import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { infraEnv, postgresForTests, s3ForTests, startEmbeddedNats, uniqueName } from '@calltx/devstack';
import { newSid, signTwilioRequest } from '@calltx/twilio-sim';
import { startChild, type Child } from './gateway/processes.js';
import { scrape, sum } from './gateway/prometheus.js';
import { loadAverage, machineSummary } from './machine.js';

/**
 * `pnpm bench:memory`: resident memory per idle live call in the gateway and in stream-ingest. Opens `--calls`
 * Media Streams on the real gateway that send `connected` and `start` and then nothing (a call on hold still has
 * its socket, its session and its per-track publishers), so the gateway publishes `stream-started` and
 * stream-ingest claims each call and opens its per-call media consumer, spool and live path. RSS of each
 * process is read from /proc before and after, with a warm-up of `--warmup` calls first so that code compiled
 * and pools opened on the first call are not counted per call.
 */
const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '50' },
    'settle-ms': { type: 'string', default: '5000' },
  },
});
const CALLS = Number(args.calls);
const WARMUP = Number(args.warmup);
const SETTLE_MS = Number(args['settle-ms']);
const GOAL_KIB = 64;
const ACCOUNT_SID = `AC${'c'.repeat(32)}`;
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const PUBLIC_BASE_URL = 'http://bench.gateway.invalid';
const MEDIA_URL = `${PUBLIC_BASE_URL.replace(/^http/, 'ws')}/twilio/media-stream`;
const GATEWAY_MAIN = fileURLToPath(new URL('../../../services/gateway/dist/main.js', import.meta.url));
const INGEST_MAIN = fileURLToPath(new URL('../../../services/stream-ingest/dist/main.js', import.meta.url));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/** One idle call: a signed Media Stream that has started and sends nothing more. */
async function openIdleCall(gatewayPort: number): Promise<WebSocket> {
  const callSid = newSid('CA');
  const streamSid = newSid('MZ');
  const ws = new WebSocket(`ws://127.0.0.1:${gatewayPort}/twilio/media-stream`, {
    headers: { 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, MEDIA_URL) },
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  ws.send(
    JSON.stringify({
      event: 'start',
      sequenceNumber: '1',
      streamSid,
      start: {
        accountSid: ACCOUNT_SID,
        streamSid,
        callSid,
        tracks: ['inbound', 'outbound'],
        customParameters: {},
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    }),
  );
  return ws;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const [nats, pg, s3] = await Promise.all([startEmbeddedNats(), postgresForTests(), s3ForTests()]);
  const env = infraEnv({
    natsUrl: nats.url,
    prefix: uniqueName('bench'),
    databaseUrl: pg.url,
    s3: s3.config,
  });
  const common = { ...env, PORT: '0', LOG_LEVEL: 'info' };
  const ingest = await startChild(
    INGEST_MAIN,
    {
      ...common,
      // Idle calls must stay live for the measurement: neither finalized for silence nor swept away.
      STREAM_IDLE_FINALIZE_MS: '3600000',
    },
    'stream-ingest listening',
  );
  const gateway = await startChild(
    GATEWAY_MAIN,
    {
      ...common,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_CALLER_ID: '+15005550006',
      CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
      PUBLIC_BASE_URL,
      MEDIA_MAX_SOCKETS: String(CALLS + WARMUP + 10),
    },
    'gateway listening',
  );
  const loadAtStart = loadAverage();
  console.log(
    `memory benchmark: ${CALLS} idle calls after ${WARMUP} warm-up calls; ${cpus().length} cores (${cpus()[0]?.model}); load average ${loadAtStart}`,
  );
  const activeCalls = async () =>
    sum(await scrape(`http://127.0.0.1:${ingest.port}/metrics`), 'calltx_ingest_active_calls');
  const sockets: WebSocket[] = [];
  const open = async (n: number) => {
    const target = sockets.length + n;
    // A few at a time, as calls arrive; Postgres and JetStream take each adoption in turn.
    while (sockets.length < target) {
      const batch = Math.min(20, target - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => openIdleCall(gateway.port)))));
    }
    await waitFor(`${target} calls owned by stream-ingest`, async () => (await activeCalls()) >= target);
    await sleep(SETTLE_MS);
  };
  const measure = (child: Child) => rssKiB(child.process.pid!);

  await open(WARMUP);
  const before = { gateway: measure(gateway), ingest: measure(ingest) };
  await open(CALLS);
  const after = { gateway: measure(gateway), ingest: measure(ingest) };
  const perCall = {
    gateway: (after.gateway - before.gateway) / CALLS,
    ingest: (after.ingest - before.ingest) / CALLS,
  };
  console.log(
    '\n| service | RSS with warm-up calls (MiB) | RSS with +N idle calls (MiB) | per idle call (KiB) | goal |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, key] of [
    ['gateway', 'gateway'],
    ['stream-ingest', 'ingest'],
  ] as const) {
    console.log(
      `| ${name} | ${(before[key] / 1024).toFixed(1)} | ${(after[key] / 1024).toFixed(1)} | ${perCall[key].toFixed(1)} | ≤ ${GOAL_KIB} |`,
    );
  }

  for (const ws of sockets) ws.terminate();
  await gateway.stop();
  await ingest.stop();
  await Promise.all([nats.stop(), pg.stop(), s3.stop()]);
  console.log(
    JSON.stringify({
      bench: 'memory',
      machine: machineSummary(loadAtStart),
      calls: CALLS,
      gatewayKiBPerCall: Number(perCall.gateway.toFixed(1)),
      ingestKiBPerCall: Number(perCall.ingest.toFixed(1)),
      goalKiBPerCall: GOAL_KIB,
      rssMiB: {
        gateway: {
          before: Number((before.gateway / 1024).toFixed(1)),
          after: Number((after.gateway / 1024).toFixed(1)),
        },
        ingest: {
          before: Number((before.ingest / 1024).toFixed(1)),
          after: Number((after.ingest / 1024).toFixed(1)),
        },
      },
    }),
  );
}

await main();
