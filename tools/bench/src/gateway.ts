import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { deployedImage, nodeCommand } from '@calltx/deploy-check';
import { startEmbeddedNats } from '@calltx/devstack';
import { prepareCallAudio, runLoad, type LoadResult } from '@calltx/twilio-sim';
import { machineBusySeconds, ownCpuSeconds } from './cpu.js';
import { startChild } from './gateway/processes.js';
import { histogramQuantile, scrape, sum } from './gateway/prometheus.js';

/**
 * `pnpm bench:gateway`: N concurrent two-track calls at real-time pace against the real gateway (child process,
 * real NATS JetStream), then the same load against a bare `ws` server that only JSON-parses each message.
 * Reports lost frames, receive → JetStream-ack latency and CPU time per frame for both, side by side.
 */
const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '100,250,500,650' },
    seconds: { type: 'string', default: '30' },
    'flush-ms': { type: 'string', default: '20' },
  },
});
const CALL_STEPS = args.calls.split(',').map(Number);
const SECONDS = Number(args.seconds);
const ACCOUNT_SID = `AC${'b'.repeat(32)}`;
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const PUBLIC_BASE_URL = 'http://bench.gateway.invalid';
const GATEWAY_MAIN = fileURLToPath(new URL('../../../services/gateway/dist/main.js', import.meta.url));
const BARE_MAIN = fileURLToPath(new URL('./gateway/bare-ws-server.js', import.meta.url));
const deployed = deployedImage('gateway');
/** The gateway runs as its image runs it; the bare server with the same runtime flags, so only the code differs. */
const AS_DEPLOYED: { flags: string[]; env: Record<string, string> } = {
  flags: nodeCommand([...deployed.entrypoint, ...deployed.cmd])?.flags ?? [],
  env: deployed.env.NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: deployed.env.NODE_OPTIONS },
};

interface StepResult {
  calls: number;
  framesSent: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  gatewayCpuUsPerFrame: number;
  bareCpuUsPerFrame: number;
  simMaxLagMs: number;
  failedCalls: number;
  framesPerMessage: number;
  /** Shares of the whole machine during the gateway run, in cores: simulator (this process), gateway, the rest. */
  cores: { simulator: number; gateway: number; rest: number };
}

function syntheticCall(seconds: number) {
  const samples = seconds * 8000;
  const agent = new Int16Array(samples);
  const technician = new Int16Array(samples);
  for (let i = 0; i < samples; i += 1) {
    agent[i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    technician[i] = Math.round(3000 * Math.sin((2 * Math.PI * 660 * i) / 8000));
  }
  return { sampleRate: 8000, agent, technician };
}

/** How many media messages JetStream holds; then empties the stream for the next step. */
async function takeMediaMessages(natsUrl: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const { messages } = (await jsm.streams.info('MEDIA')).state;
  await jsm.streams.purge('MEDIA');
  await nc.close();
  return messages;
}

const framesOf = (load: LoadResult) => load.framesSent.inbound + load.framesSent.outbound;

async function main(): Promise<void> {
  const nats = await startEmbeddedNats();
  const audio = await prepareCallAudio(syntheticCall(SECONDS));
  const results: StepResult[] = [];
  console.log(
    `gateway benchmark: ${SECONDS} s calls at real time, steps ${CALL_STEPS.join(', ')}; ${cpus().length} cores (${cpus()[0]?.model}); as deployed: node ${[...AS_DEPLOYED.flags, ...Object.entries(AS_DEPLOYED.env).map(([k, v]) => `${k}=${v}`)].join(' ') || '(no flags)'}`,
  );

  for (const calls of CALL_STEPS) {
    const load = (connectBaseUrl: string, publicBaseUrl: string) =>
      runLoad({
        calls,
        staggerMs: Math.max(1, Math.floor(2_000 / calls)),
        publicBaseUrl,
        connectBaseUrl,
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        to: '+15005550100',
        wav: audio,
        speed: 1,
      });

    const gateway = await startChild(
      GATEWAY_MAIN,
      {
        ...AS_DEPLOYED.env,
        NATS_URL: nats.url,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_CALLER_ID: '+15005550006',
        PUBLIC_BASE_URL,
        PORT: '0',
        LOG_LEVEL: 'info',
        MEDIA_FLUSH_MS: args['flush-ms'],
      },
      'gateway listening',
      AS_DEPLOYED.flags,
    );
    const metricsUrl = `http://127.0.0.1:${gateway.port}/metrics`;
    const before = await scrape(metricsUrl);
    const [machineBefore, simBefore, wallBefore] = [machineBusySeconds(), ownCpuSeconds(), performance.now()];
    const gatewayLoad = await load(`http://127.0.0.1:${gateway.port}`, PUBLIC_BASE_URL);
    const [machineAfter, simAfter, wallAfter] = [machineBusySeconds(), ownCpuSeconds(), performance.now()];
    // Let the last batches reach JetStream before reading the counters.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await scrape(metricsUrl);
    await gateway.stop();
    const messages = await takeMediaMessages(nats.url);
    const sent = framesOf(gatewayLoad);
    const published =
      sum(after, 'calltx_gateway_frames_total', { outcome: 'published' }) -
      sum(before, 'calltx_gateway_frames_total', { outcome: 'published' });
    const gatewayCpu = sum(after, 'process_cpu_seconds_total') - sum(before, 'process_cpu_seconds_total');
    const wallSeconds = (wallAfter - wallBefore) / 1000;
    const simCpu = simAfter - simBefore;
    const cores = {
      simulator: simCpu / wallSeconds,
      gateway: gatewayCpu / wallSeconds,
      rest: (machineAfter - machineBefore - simCpu - gatewayCpu) / wallSeconds,
    };

    const bare = await startChild(
      BARE_MAIN,
      { ...AS_DEPLOYED.env, PUBLIC_WS_URL: 'ws://bench.bare.invalid/twilio/media-stream' },
      'listening',
      AS_DEPLOYED.flags,
    );
    const cpuUrl = `http://127.0.0.1:${bare.port}/cpu`;
    const bareBefore = (await (await fetch(cpuUrl)).json()) as { cpuSeconds: number; frames: number };
    const bareLoad = await load(`http://127.0.0.1:${bare.port}`, 'http://bench.bare.invalid');
    const bareAfter = (await (await fetch(cpuUrl)).json()) as { cpuSeconds: number; frames: number };
    await bare.stop();

    const result: StepResult = {
      calls,
      framesSent: sent,
      lost: sent - published,
      p50Ms: histogramQuantile(before, after, 'calltx_gateway_frame_ack_seconds', 0.5) * 1000,
      p99Ms: histogramQuantile(before, after, 'calltx_gateway_frame_ack_seconds', 0.99) * 1000,
      gatewayCpuUsPerFrame: (gatewayCpu * 1e6) / sent,
      bareCpuUsPerFrame:
        ((bareAfter.cpuSeconds - bareBefore.cpuSeconds) * 1e6) /
        Math.max(1, bareAfter.frames - bareBefore.frames),
      simMaxLagMs: Math.max(gatewayLoad.maxLagMs, bareLoad.maxLagMs),
      failedCalls: gatewayLoad.failed + bareLoad.failed,
      cores,
      framesPerMessage: published / Math.max(1, messages),
    };
    results.push(result);
    console.log(
      `N=${calls}: frames ${sent}, lost ${result.lost}, ack p50 ${result.p50Ms.toFixed(1)} ms p99 ${result.p99Ms.toFixed(1)} ms, ` +
        `CPU/frame gateway ${result.gatewayCpuUsPerFrame.toFixed(1)} µs vs bare ws ${result.bareCpuUsPerFrame.toFixed(1)} µs ` +
        `(×${(result.gatewayCpuUsPerFrame / result.bareCpuUsPerFrame).toFixed(2)}), ${result.framesPerMessage.toFixed(2)} frames per JetStream message, simulator max lag ${result.simMaxLagMs.toFixed(0)} ms, failed calls ${result.failedCalls}; ` +
        `cores busy: simulator ${cores.simulator.toFixed(2)}, gateway ${cores.gateway.toFixed(2)}, nats-server and rest ${cores.rest.toFixed(2)}`,
    );
  }
  await nats.stop();

  console.log(
    '\n| N calls | frames | lost | ack p50 (ms) | ack p99 (ms) | gateway CPU µs/frame | bare ws CPU µs/frame | ratio | sim max lag (ms) | cores: sim / gateway / rest |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.calls} | ${r.framesSent} | ${r.lost} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.gatewayCpuUsPerFrame.toFixed(1)} | ${r.bareCpuUsPerFrame.toFixed(1)} | ${(r.gatewayCpuUsPerFrame / r.bareCpuUsPerFrame).toFixed(2)} | ${r.simMaxLagMs.toFixed(0)} | ${r.cores.simulator.toFixed(2)} / ${r.cores.gateway.toFixed(2)} / ${r.cores.rest.toFixed(2)} |`,
    );
  }
  const passing = results.filter((r) => r.lost === 0 && r.failedCalls === 0 && r.p99Ms <= 50);
  const best = passing.at(-1);
  console.log(
    best
      ? `\nLargest N with zero lost frames and p99 ≤ 50 ms: ${best.calls} (CPU ratio ${(best.gatewayCpuUsPerFrame / best.bareCpuUsPerFrame).toFixed(2)}); machine: ${availableParallelism()} cores.`
      : '\nNo step met zero lost frames with p99 ≤ 50 ms.',
  );
}

await main();
