import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { deployedImage, nodeCommand } from '@calltx/deploy-check';
import { startEmbeddedNats } from '@calltx/devstack';
import { prepareCallAudio, runLoad, type LoadResult } from '@calltx/twilio-sim';
import { machineBusySeconds, ownCpuSeconds } from './cpu.js';
import { coreCount, defaultPinning, pinSelf } from './gateway/pinning.js';
import { startChild } from './gateway/processes.js';
import { histogramQuantile, scrape, sum } from './gateway/prometheus.js';
import { loadAverage, machineSummary } from './machine.js';

/**
 * `pnpm bench:gateway`: N concurrent two-track calls at real-time pace against the real gateway (child process,
 * real NATS JetStream), then the same load against a bare `ws` server that only JSON-parses each message.
 * Processes are pinned as a deployment runs them: the server under test on its own core, the simulator and
 * nats-server on the other(s). Without `--calls` it searches for the largest N the pinned gateway carries with
 * zero loss and p99 receive → JetStream ack ≤ 50 ms (calls per core), and measures the bare server at that N.
 */
const pinning = defaultPinning();
const { values: args } = parseArgs({
  options: {
    /** Explicit steps (each measured against the bare server too) instead of the search. */
    calls: { type: 'string' },
    /** The search: from this N up by `step` while the bound holds, then halving the step down to `resolution`. */
    from: { type: 'string', default: '200' },
    step: { type: 'string', default: '100' },
    resolution: { type: 'string', default: '25' },
    max: { type: 'string', default: '1200' },
    seconds: { type: 'string', default: '20' },
    'flush-ms': { type: 'string', default: '20' },
    /**
     * MEDIA_MESSAGE_SCOPE of the gateway: `call` (as deployed) or `track`; with `--calls`, a list (`track,call`)
     * runs every step once per scope, alternating, for an A/B within one run.
     */
    scopes: { type: 'string', default: 'call' },
    'server-cpus': { type: 'string', default: pinning.server },
    'load-cpus': { type: 'string', default: pinning.load },
  },
});
const SECONDS = Number(args.seconds);
const SCOPES = args.scopes.split(',');
const SERVER_CPUS = args['server-cpus'];
const P99_BOUND_MS = 50;
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

interface GatewayStep {
  calls: number;
  scope: string;
  framesSent: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  gatewayCpuUsPerFrame: number;
  /** Share of the gateway's CPU time spent in the kernel (socket reads and writes, mostly). */
  gatewaySystemShare: number;
  simMaxLagMs: number;
  failedCalls: number;
  framesPerMessage: number;
  /** Busy share of the whole machine during the gateway run, in cores: simulator (this process), gateway, the rest. */
  cores: { simulator: number; gateway: number; rest: number };
  /** The bare server's run right after this one (`--calls` mode). */
  bare?: BareStep;
}

interface BareStep {
  bareCpuUsPerFrame: number;
  simMaxLagMs: number;
  failedCalls: number;
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
const passes = (r: GatewayStep) => r.lost === 0 && r.failedCalls === 0 && r.p99Ms <= P99_BOUND_MS;

async function main(): Promise<void> {
  pinSelf(args['load-cpus']);
  const nats = await startEmbeddedNats(); // inherits the load cores
  const audio = await prepareCallAudio(syntheticCall(SECONDS));
  const serverCores = coreCount(SERVER_CPUS);
  const loadAtStart = loadAverage();
  console.log(
    `gateway benchmark: ${SECONDS} s calls at real time; ${cpus().length} cores (${cpus()[0]?.model}); server pinned to ` +
      `CPU ${SERVER_CPUS}, simulator and nats-server to CPU ${args['load-cpus']}; load average ${loadAtStart}; ` +
      `as deployed: node ${[...AS_DEPLOYED.flags, ...Object.entries(AS_DEPLOYED.env).map(([k, v]) => `${k}=${v}`)].join(' ') || '(no flags)'}`,
  );

  const load = (calls: number, connectBaseUrl: string, publicBaseUrl: string) =>
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

  async function gatewayStep(calls: number, scope = SCOPES[0]!): Promise<GatewayStep> {
    const gateway = await startChild(
      GATEWAY_MAIN,
      {
        ...AS_DEPLOYED.env,
        NATS_URL: nats.url,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_CALLER_ID: '+15005550006',
        CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
        PUBLIC_BASE_URL,
        PORT: '0',
        LOG_LEVEL: 'info',
        MEDIA_FLUSH_MS: args['flush-ms'],
        MEDIA_MESSAGE_SCOPE: scope,
      },
      'gateway listening',
      AS_DEPLOYED.flags,
      SERVER_CPUS,
    );
    const metricsUrl = `http://127.0.0.1:${gateway.port}/metrics`;
    const before = await scrape(metricsUrl);
    const [machineBefore, simBefore, wallBefore] = [machineBusySeconds(), ownCpuSeconds(), performance.now()];
    const gatewayLoad = await load(calls, `http://127.0.0.1:${gateway.port}`, PUBLIC_BASE_URL);
    const [machineAfter, simAfter, wallAfter] = [machineBusySeconds(), ownCpuSeconds(), performance.now()];
    // Let the last batches reach JetStream before reading the counters (up to 30 s): a frame still buffered when the
    // calls end is late, which the p99 shows, not lost; lost is what JetStream never acknowledged.
    let after = await scrape(metricsUrl);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; after = await scrape(metricsUrl)) {
      if (sum(after, 'calltx_gateway_buffered_frames') === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await gateway.stop();
    const messages = await takeMediaMessages(nats.url);
    const sent = framesOf(gatewayLoad);
    const published =
      sum(after, 'calltx_gateway_frames_total', { outcome: 'published' }) -
      sum(before, 'calltx_gateway_frames_total', { outcome: 'published' });
    const gatewayCpu = sum(after, 'process_cpu_seconds_total') - sum(before, 'process_cpu_seconds_total');
    const gatewaySystemCpu =
      sum(after, 'process_cpu_system_seconds_total') - sum(before, 'process_cpu_system_seconds_total');
    const wallSeconds = (wallAfter - wallBefore) / 1000;
    const simCpu = simAfter - simBefore;
    const result: GatewayStep = {
      calls,
      scope,
      framesSent: sent,
      lost: sent - published,
      p50Ms: histogramQuantile(before, after, 'calltx_gateway_frame_ack_seconds', 0.5) * 1000,
      p99Ms: histogramQuantile(before, after, 'calltx_gateway_frame_ack_seconds', 0.99) * 1000,
      gatewayCpuUsPerFrame: (gatewayCpu * 1e6) / sent,
      gatewaySystemShare: gatewaySystemCpu / gatewayCpu,
      simMaxLagMs: gatewayLoad.maxLagMs,
      failedCalls: gatewayLoad.failed,
      framesPerMessage: published / Math.max(1, messages),
      cores: {
        simulator: simCpu / wallSeconds,
        gateway: gatewayCpu / wallSeconds,
        rest: (machineAfter - machineBefore - simCpu - gatewayCpu) / wallSeconds,
      },
    };
    const { cores } = result;
    console.log(
      `N=${calls} (${scope}): frames ${sent}, lost ${result.lost}, ack p50 ${result.p50Ms.toFixed(1)} ms p99 ${result.p99Ms.toFixed(1)} ms, ` +
        `CPU/frame gateway ${result.gatewayCpuUsPerFrame.toFixed(1)} µs (${(result.gatewaySystemShare * 100).toFixed(0)} % in the kernel), ${result.framesPerMessage.toFixed(2)} frames per JetStream message, ` +
        `simulator max lag ${result.simMaxLagMs.toFixed(0)} ms, failed calls ${result.failedCalls}; cores busy: simulator ` +
        `${cores.simulator.toFixed(2)}, gateway ${cores.gateway.toFixed(2)}, nats-server and rest ${cores.rest.toFixed(2)}; ` +
        `load average ${loadAverage()}${passes(result) ? '' : ' — misses the bound'}`,
    );
    return result;
  }

  async function bareStep(calls: number): Promise<BareStep> {
    const bare = await startChild(
      BARE_MAIN,
      { ...AS_DEPLOYED.env, PUBLIC_WS_URL: 'ws://bench.bare.invalid/twilio/media-stream' },
      'listening',
      AS_DEPLOYED.flags,
      SERVER_CPUS,
    );
    const cpuUrl = `http://127.0.0.1:${bare.port}/cpu`;
    const before = (await (await fetch(cpuUrl)).json()) as { cpuSeconds: number; frames: number };
    const bareLoad = await load(calls, `http://127.0.0.1:${bare.port}`, 'http://bench.bare.invalid');
    const after = (await (await fetch(cpuUrl)).json()) as { cpuSeconds: number; frames: number };
    await bare.stop();
    const result = {
      bareCpuUsPerFrame:
        ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, after.frames - before.frames),
      simMaxLagMs: bareLoad.maxLagMs,
      failedCalls: bareLoad.failed,
    };
    console.log(
      `N=${calls}: bare ws CPU/frame ${result.bareCpuUsPerFrame.toFixed(1)} µs, simulator max lag ${result.simMaxLagMs.toFixed(0)} ms, failed calls ${result.failedCalls}`,
    );
    return result;
  }

  const steps: GatewayStep[] = [];
  const bareAt = new Map<number, BareStep>();
  if (args.calls !== undefined) {
    for (const calls of args.calls.split(',').map(Number)) {
      for (const scope of SCOPES) {
        const step = await gatewayStep(calls, scope);
        steps.push(step);
        const bare = await bareStep(calls);
        bareAt.set(calls, bare);
        step.bare = bare;
        console.log(
          `N=${calls} (${scope}): CPU/frame gateway ${step.gatewayCpuUsPerFrame.toFixed(1)} µs vs bare ws ${bare.bareCpuUsPerFrame.toFixed(1)} µs ` +
            `(×${(step.gatewayCpuUsPerFrame / bare.bareCpuUsPerFrame).toFixed(2)})`,
        );
      }
    }
  } else {
    // Up by `step` while the bound holds, then bisect between the last pass and the first miss.
    let pass = 0;
    let miss = Infinity;
    let calls = Number(args.from);
    let stride = Number(args.step);
    const resolution = Number(args.resolution);
    while (calls <= Number(args.max)) {
      const step = await gatewayStep(calls);
      steps.push(step);
      if (passes(step)) pass = calls;
      else miss = calls;
      if (miss === Infinity) calls += stride;
      else {
        if (pass === 0 && miss > resolution)
          calls = Math.max(resolution, Math.floor(miss / 2 / resolution) * resolution);
        else {
          stride = Math.floor((miss - pass) / 2 / resolution) * resolution;
          if (stride < resolution) break;
          calls = pass + stride;
        }
        if (calls === miss) break;
      }
    }
    const at = pass > 0 ? pass : Math.min(...steps.map((s) => s.calls));
    bareAt.set(at, await bareStep(at));
  }
  await nats.stop();

  console.log(
    '\n| N calls | scope | frames | lost | ack p50 (ms) | ack p99 (ms) | gateway CPU µs/frame | bare ws CPU µs/frame | ratio | frames per message | sim max lag (ms) | cores: sim / gateway / rest |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [...steps].sort((a, b) => a.calls - b.calls)) {
    const bare = r.bare ?? bareAt.get(r.calls);
    console.log(
      `| ${r.calls} | ${r.scope} | ${r.framesSent} | ${r.lost} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.gatewayCpuUsPerFrame.toFixed(1)} | ` +
        `${bare ? bare.bareCpuUsPerFrame.toFixed(1) : '–'} | ${bare ? (r.gatewayCpuUsPerFrame / bare.bareCpuUsPerFrame).toFixed(2) : '–'} | ` +
        `${r.framesPerMessage.toFixed(2)} | ${r.simMaxLagMs.toFixed(0)} | ${r.cores.simulator.toFixed(2)} / ${r.cores.gateway.toFixed(2)} / ${r.cores.rest.toFixed(2)} |`,
    );
  }
  const best = steps.filter(passes).sort((a, b) => b.calls - a.calls)[0];
  const measuredAt = best ?? steps.find((s) => bareAt.has(s.calls))!;
  const bare = bareAt.get(measuredAt.calls);
  const cpuRatio = bare ? measuredAt.gatewayCpuUsPerFrame / bare.bareCpuUsPerFrame : null;
  console.log(
    best
      ? `\nLargest N with zero lost frames and p99 ≤ ${P99_BOUND_MS} ms on ${serverCores} pinned core(s): ${best.calls} ` +
          `(${best.calls / serverCores} calls per core), CPU ratio there ${cpuRatio?.toFixed(2) ?? 'not measured'}.`
      : `\nNo step met zero lost frames with p99 ≤ ${P99_BOUND_MS} ms.`,
  );
  const round = (value: number, digits = 1) => Number(value.toFixed(digits));
  console.log(
    JSON.stringify({
      bench: 'gateway',
      machine: machineSummary(loadAtStart, { serverCpus: SERVER_CPUS, loadCpus: args['load-cpus'] }),
      callsPerCore: best ? best.calls / serverCores : 0,
      p99Ms: best ? round(best.p99Ms) : null,
      cpuRatio: cpuRatio === null ? null : round(cpuRatio, 2),
      ratioAtCalls: measuredAt.calls,
      gatewayCpuUsPerFrame: round(measuredAt.gatewayCpuUsPerFrame),
      bareCpuUsPerFrame: bare ? round(bare.bareCpuUsPerFrame) : null,
      framesPerMessage: round(measuredAt.framesPerMessage, 2),
      mediaScope: measuredAt.scope,
      seconds: SECONDS,
      steps: steps.map((s) => ({
        calls: s.calls,
        scope: s.scope,
        lost: s.lost,
        p99Ms: round(s.p99Ms),
        cpuUsPerFrame: round(s.gatewayCpuUsPerFrame),
      })),
    }),
  );
}

await main();
