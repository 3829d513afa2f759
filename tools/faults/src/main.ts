import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { natsUrlForTests } from '@calltx/devstack';
import { prepareCallAudio } from '@calltx/twilio-sim';
import { planCalls } from './calls.js';
import { compareRuns, duplicateCount, referenceComplete, type Check } from './compare.js';
import { Prng, seedFrom } from './prng.js';
import { root, runOnce, type RunHooks, type RunOutcome } from './run.js';
import { KILLABLE, NATS_NODE, planSchedule, type KillKind } from './schedule.js';
import { figuresOf, printFigures } from './figures.js';

/**
 * `pnpm test:faults`: a dozen simulated calls through all four services as processes, once without faults and
 * once under a seeded schedule of SIGKILLs and restarts, then everything stored and published compared.
 * FAULTS_SEED replays a run. Exit code 1 when any check fails.
 */
const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', default: process.env.FAULTS_VARIANT || 'standard' },
    calls: { type: 'string', default: '12' },
    speed: { type: 'string', default: '4' },
    'call-seconds': { type: 'string', default: '11' },
    'kills-per-kind': { type: 'string', default: '3' },
    'nats-urls': { type: 'string', default: process.env.FAULTS_NATS_URLS || '' },
  },
});
const VARIANTS = ['standard', 'cluster', 'hostile'] as const;
type Variant = (typeof VARIANTS)[number];
const variant = args.variant as Variant;
if (!VARIANTS.includes(variant)) throw new RangeError(`--variant must be one of ${VARIANTS.join(', ')}`);

const seed = seedFrom(process.env.FAULTS_SEED);
const callCount = Number(args.calls);
const speed = Number(args.speed);
/**
 * Each call plays the start of the sample call (its first 11 s hold two turns per speaker, ending in silence);
 * calls start spread over eight call lengths, so that one to three overlap.
 */
const callSeconds = Number(args['call-seconds']);
const callMs = (callSeconds * 1000) / speed;
const spreadMs = 8 * callMs;
/** Kills go on after the last call, while recordings are fetched and transcribed. */
const AFTER_CALLS_MS = 10_000;

async function hooksFor(v: Variant): Promise<RunHooks & { stop(): Promise<void> }> {
  switch (v) {
    case 'standard':
      return { natsUrl: natsUrlForTests(), streamReplicas: 1, stop: async () => undefined };
    case 'cluster': {
      const { clusterHooks } = await import('./variants/cluster.js');
      return clusterHooks(args['nats-urls']);
    }
    case 'hostile': {
      const { hostileHooks } = await import('./variants/hostile.js');
      return hostileHooks(natsUrlForTests());
    }
  }
}

async function main(): Promise<number> {
  console.log(`faults: seed ${seed} (replay with FAULTS_SEED=${seed}), variant ${variant}`);
  const prng = new Prng(seed);
  const calls = planCalls(prng, callCount, spreadMs);
  const hooks = await hooksFor(variant);
  const kinds: KillKind[] = hooks.natsNodes ? [...KILLABLE, NATS_NODE] : [...KILLABLE];
  const plan = planSchedule(prng, spreadMs + callMs + AFTER_CALLS_MS, Number(args['kills-per-kind']), kinds);
  console.log(
    `faults: ${calls.length} calls of ${callSeconds} s over ${((spreadMs + callMs) / 1000).toFixed(0)} s at ${speed}×; kills planned at ${plan.kills.map((k) => `${(k.atMs / 1000).toFixed(1)} s ${k.kind}`).join(', ')}`,
  );
  const logDir = root(`.data/faults/${seed}`);
  await mkdir(logDir, { recursive: true });
  const sample = await prepareCallAudio(root('packages/twilio-sim/assets/sample-call.wav'));
  const samples = Math.round(callSeconds * 8_000);
  const common = {
    calls,
    speed,
    audio: await prepareCallAudio({
      sampleRate: 8_000,
      agent: sample.pcm.agent.subarray(0, samples),
      technician: sample.pcm.technician.subarray(0, samples),
    }),
    recordingDelayMs: 1_500,
    settleTimeoutMs: 150_000,
    logDir,
    log: (line: string) => console.log(line),
  };
  const started = Date.now();
  let reference: RunOutcome;
  let faulted: RunOutcome;
  try {
    // The reference runs without the variant's extra traffic: it is what the calls alone produce.
    reference = await runOnce({
      ...common,
      label: 'reference',
      plan: undefined,
      hooks: { ...hooks, alongsideCalls: undefined },
    });
    faulted = await runOnce({ ...common, label: 'faulted', plan, hooks });
  } catch (error) {
    // A run that cannot complete (a service that never starts, infrastructure gone) is one failed check.
    console.log(`\nfaults: checks\n  FAIL  both runs complete\n          ${String(error).split('\n')[0]}`);
    console.log(`\nfaults: 0 passed, 1 failed (seed ${seed})`);
    console.log(JSON.stringify({ seed, variant, calls: calls.length, passed: 0, failed: 1 }));
    return 1;
  } finally {
    await hooks.stop();
  }

  const checks: Check[] = [
    referenceComplete(reference.record, reference.framesSent),
    {
      name: 'every call played to its end in both runs',
      findings: [...reference.callFailures, ...faulted.callFailures],
      passed: reference.callFailures.length + faulted.callFailures.length === 0,
    },
    {
      name: 'both runs settled (audio and recordings stored, queues empty, transcripts quiet)',
      findings: [
        ...reference.unsettled.map((m) => `reference: ${m}`),
        ...faulted.unsettled.map((m) => `faulted: ${m}`),
      ],
      passed: reference.unsettled.length + faulted.unsettled.length === 0,
    },
    ...compareRuns(reference.record, faulted.record),
    {
      name: 'no process exited but those the schedule killed',
      findings: [...reference.unexpectedExits, ...faulted.unexpectedExits].map(
        (e) => `${e.replica} pid ${e.pid} exited (code ${e.code}, signal ${e.signal})`,
      ),
      passed: reference.unexpectedExits.length + faulted.unexpectedExits.length === 0,
    },
  ];

  console.log('\nfaults: checks');
  for (const c of checks) {
    console.log(`  ${c.passed ? 'PASS' : 'FAIL'}  ${c.name}`);
    for (const finding of c.findings.slice(0, 12)) console.log(`          ${finding}`);
    if (c.findings.length > 12) console.log(`          … and ${c.findings.length - 12} more`);
  }
  for (const note of faulted.notes) console.log(`  note: ${note}`);
  const figures = figuresOf({
    seed,
    variant,
    calls: calls.length,
    reference,
    faulted,
    duplicates: duplicateCount(faulted.record),
    kinds,
    wallMs: Date.now() - started,
  });
  printFigures(figures);
  const failed = checks.filter((c) => !c.passed).length;
  console.log(`\nfaults: ${checks.length - failed} passed, ${failed} failed (seed ${seed})`);
  console.log(JSON.stringify({ ...figures, passed: checks.length - failed, failed }));
  return failed === 0 ? 0 : 1;
}

// Interrupted: exit, and the fleet's exit hook takes the services down with this process.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
// Exit once the verdict is printed: a run aborted midway can leave timers and connections that would hold the
// process open (seen: 2795882837, a TimeoutError, then a hang).
process.exit(await main());
