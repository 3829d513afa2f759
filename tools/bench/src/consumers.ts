/**
 * `pnpm bench:consumers`: the cost of stream-ingest's per-call media consumers on a 3-node JetStream cluster.
 * For each consumer placement (replicas × storage), on a fresh cluster: an R3 MEDIA stream, CALLS per-call
 * durable consumers each with some frames delivered and acknowledged; one server (not the stream leader) is
 * SIGKILLed, the calls keep streaming and acknowledging while it is down, then it restarts and we time how long
 * it takes to answer /healthz with 200 (JetStream current). Figures per placement, then one JSON line.
 *
 * Run: pnpm bench:consumers [--calls 500] [--down-seconds 15]
 */
import { parseArgs } from 'node:util';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsCluster } from '@calltx/devstack';
import { loadAverage, machineSummary } from './machine.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '500' },
    'down-seconds': { type: 'string', default: '5' },
  },
});
const CALLS = Number(args.calls);
const DOWN_MS = Number(args['down-seconds']) * 1_000;
const STREAM = 'BENCH_MEDIA';
const loadAtStart = loadAverage();

interface Placement {
  label: string;
  /** Omitted: the consumer inherits the stream's (R3, file), which is what stream-ingest created before. */
  num_replicas?: number;
  mem_storage?: boolean;
}

const PLACEMENTS: Placement[] = [
  { label: 'baseline: inherit stream (R3, file)' },
  { label: 'R1, file', num_replicas: 1 },
  { label: 'R1, memory', num_replicas: 1, mem_storage: true },
  { label: 'R3 (inherited), memory: chosen', mem_storage: true },
];

interface Result {
  placement: string;
  createSeconds: number;
  /** Calls (at most, in one round) whose consumer could not be read while the server was down. */
  stalledWhileDown: number;
  restartToHealthySeconds: number;
  /** Consumers that answer info once the restarted server is healthy. */
  consumersAvailable: number;
}

const consumerName = (i: number) => `ingest_CA${String(i).padStart(32, '0')}`;
const subject = (i: number) => `bench.media.CA${i}.inbound`;

/** Each call reads and acknowledges up to `perCall` frames; returns how many calls could not (consumer unavailable). */
async function deliverAndAck(nc: NatsConnection, calls: number, perCall: number): Promise<number> {
  const js = jetstream(nc, { timeout: 20_000 });
  let failed = 0;
  for (let start = 0; start < calls; start += 50)
    await Promise.all(
      Array.from({ length: Math.min(50, calls - start) }, async (_, k) => {
        try {
          const consumer = await js.consumers.get(STREAM, consumerName(start + k));
          const batch = await consumer.fetch({ max_messages: perCall, expires: 5_000 });
          for await (const msg of batch) {
            await msg.ackAck();
            if (msg.info.pending === 0) break;
          }
        } catch {
          failed += 1;
        }
      }),
    );
  return failed;
}

async function publishFrames(nc: NatsConnection, calls: number, round: number): Promise<void> {
  const js = jetstream(nc, { timeout: 20_000 });
  const payload = new Uint8Array(1_700); // a 10-frame batch of base64 mu-law, as the gateway sends
  for (let start = 0; start < calls; start += 100)
    await Promise.all(
      Array.from(
        { length: Math.min(100, calls - start) },
        (_, k) =>
          js
            .publish(subject(start + k), payload, { msgID: `${start + k}:${round}`, timeout: 10_000 })
            .catch(() => undefined), // a frame lost here only shortens the call's backlog
      ),
    );
}

async function run(placement: Placement): Promise<Result> {
  const cluster = await startNatsCluster(3);
  const nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 20_000 });
    await jsm.streams.add({
      name: STREAM,
      subjects: ['bench.media.>'],
      num_replicas: 3,
      storage: StorageType.File,
    });
    await publishFrames(nc, CALLS, 0);

    const createStarted = performance.now();
    for (let start = 0; start < CALLS; start += 25)
      await Promise.all(
        Array.from({ length: Math.min(25, CALLS - start) }, (_, k) =>
          jsm.consumers.add(STREAM, {
            durable_name: consumerName(start + k),
            filter_subject: subject(start + k),
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            ...(placement.num_replicas === undefined ? {} : { num_replicas: placement.num_replicas }),
            ...(placement.mem_storage === undefined ? {} : { mem_storage: placement.mem_storage }),
          }),
        ),
      );
    const createSeconds = (performance.now() - createStarted) / 1_000;
    await deliverAndAck(nc, CALLS, 1);
    await cluster.waitForHealthy(undefined, 120_000);
    console.error(`${placement.label}: ${CALLS} consumers in ${createSeconds.toFixed(1)} s`);

    const leader = await cluster.streamLeader(STREAM);
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    await cluster.kill(victim);
    // Calls go on while the server is down: new frames, delivered and acknowledged.
    const downUntil = Date.now() + DOWN_MS;
    let round = 1;
    let stalledWhileDown = 0;
    do {
      await publishFrames(nc, CALLS, round);
      stalledWhileDown = Math.max(stalledWhileDown, await deliverAndAck(nc, CALLS, 1));
      round += 1;
    } while (Date.now() < downUntil);
    console.error(`${placement.label}: server ${victim} down for ${round - 1} rounds`);

    const restarted = performance.now();
    await cluster.restart(victim);
    await cluster.waitForHealthy(victim, 180_000);
    const restartToHealthySeconds = (performance.now() - restarted) / 1_000;

    let consumersAvailable = 0;
    for (let start = 0; start < CALLS; start += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, CALLS - start) }, async (_, k) => {
          try {
            await jsm.consumers.info(STREAM, consumerName(start + k));
            consumersAvailable += 1;
          } catch {
            // unavailable: counted by omission
          }
        }),
      );
    return {
      placement: placement.label,
      createSeconds,
      stalledWhileDown,
      restartToHealthySeconds,
      consumersAvailable,
    };
  } finally {
    await nc.close();
    await cluster.stop();
  }
}

const results: Result[] = [];
for (const placement of PLACEMENTS) {
  const result = await run(placement);
  results.push(result);
  console.error(`${placement.label}: done`);
}
console.log(
  `\n${CALLS} per-call consumers on an R3 stream, 3 servers; one follower killed for ~${DOWN_MS / 1000} s\n`,
);
console.log(
  '| consumer placement | create all (s) | calls stalled while down | restart → /healthz 200 (s) | consumers answering after |',
);
console.log('|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.placement} | ${r.createSeconds.toFixed(1)} | ${r.stalledWhileDown}/${CALLS} | ${r.restartToHealthySeconds.toFixed(1)} | ${r.consumersAvailable}/${CALLS} |`,
  );
const baseline = results[0]!;
const chosen = results.find((r) => r.placement.endsWith('chosen'))!;
console.log(
  JSON.stringify({
    bench: 'consumers',
    machine: machineSummary(loadAtStart),
    calls: CALLS,
    downSeconds: DOWN_MS / 1_000,
    baselineRestartToHealthySeconds: Number(baseline.restartToHealthySeconds.toFixed(2)),
    chosenRestartToHealthySeconds: Number(chosen.restartToHealthySeconds.toFixed(2)),
    results,
  }),
);
