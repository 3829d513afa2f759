import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import type { Subjects } from '@calltx/events';
import { isMediaConsumerOf } from '@calltx/stream-ingest';
import type { Fleet, Replica } from './processes.js';
import {
  NATS_NODE,
  type KillKind,
  type PlannedKill,
  type SchedulePlan,
  type ServiceKind,
} from './schedule.js';

/** The nodes of a NATS cluster the suite runs itself, by index. */
export interface NatsNodes {
  readonly count: number;
  isUp(index: number): boolean;
  kill(index: number): Promise<void>;
  start(index: number): Promise<void>;
}

/** What the schedule kills: a service replica or a NATS node. */
interface Target {
  name: string;
  pid: number;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface KillRecord {
  kind: KillKind;
  replica: string;
  pid: number;
  atMs: number;
  /** Calls the killed stream-ingest replica owned and had not finalized. */
  orphanedCalls: string[];
}

export interface SkippedKill {
  kind: KillKind;
  atMs: number;
  reason: string;
}

/** One orphaned call's takeover after a stream-ingest kill. */
export interface Takeover {
  callSid: string;
  /** Kill → another replica logs `call claimed`. */
  claimMs: number | undefined;
  /**
   * Kill → the next owner's consumer has delivered its first frame (undefined when nothing was left to deliver:
   * the call's media had all been stored before the kill).
   */
  firstFrameMs: number | undefined;
}

export interface FaultLog {
  kills: KillRecord[];
  skipped: SkippedKill[];
  takeovers: Takeover[];
  /** When the last replacement became ready (epoch ms). */
  lastRestartAt: number;
}

/** How long the driver waits for a kind's state (a replica busy) before it skips the kill. */
const STATE_WAIT_MS = 10_000;
const TAKEOVER_WAIT_MS = 150_000;
const POLL_MS = 100;

/** The metric that tells a replica is in the state worth killing it in: holding work that must survive. */
const BUSY_GAUGE: Record<ServiceKind, string | undefined> = {
  'stream-ingest': 'calltx_ingest_active_calls',
  'recording-fetcher': 'calltx_recording_fetcher_in_flight',
  // Transcribers pull from shared work queues all through a run; any live one holds segments.
  transcriber: undefined,
};

/**
 * Runs the schedule: at each planned time, waits for a replica of the planned kind in its busy state, SIGKILLs a
 * seeded choice among them, restarts the slot after the planned pause, and follows stream-ingest takeovers.
 */
export async function runSchedule(deps: {
  plan: SchedulePlan;
  fleet: Fleet;
  natsNodes: NatsNodes | undefined;
  startedAt: number;
  jsm: JetStreamManager;
  subjects: Subjects;
  log: (line: string) => void;
}): Promise<FaultLog> {
  const { plan, fleet, startedAt, log } = deps;
  const result: FaultLog = { kills: [], skipped: [], takeovers: [], lastRestartAt: startedAt };
  const pending: Array<Promise<void>> = [];
  for (const planned of plan.kills) {
    const wait = startedAt + planned.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    const target =
      planned.kind === NATS_NODE ? natsNodeTarget(deps.natsNodes, planned) : await findTarget(fleet, planned);
    const atMs = Date.now() - startedAt;
    if (!target) {
      const reason =
        planned.kind === NATS_NODE
          ? 'a node is still down'
          : `none busy and up within ${STATE_WAIT_MS / 1000} s`;
      result.skipped.push({ kind: planned.kind, atMs, reason });
      log(`  ${fmt(atMs)} skip ${planned.kind}: ${reason}`);
      continue;
    }
    const pid = target.pid;
    const orphanedCalls = planned.kind === 'stream-ingest' ? ownedCalls(fleet, pid) : [];
    const killedAt = Date.now();
    await target.kill();
    result.kills.push({ kind: planned.kind, replica: target.name, pid, atMs, orphanedCalls });
    log(
      `  ${fmt(atMs)} SIGKILL ${target.name} (pid ${pid})${orphanedCalls.length ? `, owning ${orphanedCalls.length} call(s)` : ''}; restart in ${planned.downMs} ms`,
    );
    for (const callSid of orphanedCalls)
      pending.push(
        followTakeover(deps, callSid, pid, killedAt).then((takeover) => void result.takeovers.push(takeover)),
      );
    pending.push(
      sleep(planned.downMs)
        .then(() => target.start())
        .then(
          () => {
            result.lastRestartAt = Math.max(result.lastRestartAt, Date.now());
            log(`  ${fmt(Date.now() - startedAt)} restarted ${target.name}`);
          },
          // Its exit is on the fleet's list of unexpected exits; the run goes on without it.
          (error: unknown) =>
            log(`  ${fmt(Date.now() - startedAt)} ${target.name} did not restart: ${String(error)}`),
        ),
    );
  }
  await Promise.all(pending);
  return result;
}

function natsNodeTarget(nodes: NatsNodes | undefined, planned: PlannedKill): Target | undefined {
  if (!nodes) return undefined;
  const up = Array.from({ length: nodes.count }, (_, i) => i).filter((i) => nodes.isUp(i));
  // A cluster of three keeps its quorum with one node down, not two.
  if (up.length < nodes.count) return undefined;
  const index = up[planned.choice % up.length]!;
  return {
    name: `nats-node#${index}`,
    pid: -1,
    kill: () => nodes.kill(index),
    start: () => nodes.start(index),
  };
}

function replicaTarget(replica: Replica): Target {
  return {
    name: replica.name,
    pid: replica.child?.pid ?? -1,
    kill: () => replica.kill(),
    start: () => replica.start(),
  };
}

async function findTarget(fleet: Fleet, planned: PlannedKill): Promise<Target | undefined> {
  const kind = planned.kind as ServiceKind;
  const gauge = BUSY_GAUGE[kind];
  const deadline = Date.now() + STATE_WAIT_MS;
  while (Date.now() < deadline) {
    const up = fleet.of(kind).filter((r) => r.up);
    const busy = gauge
      ? (await Promise.all(up.map(async (r) => ((await readGauge(r, gauge)) > 0 ? r : undefined)))).filter(
          (r): r is Replica => r !== undefined && r.up,
        )
      : up;
    if (busy.length > 0) return replicaTarget(busy[planned.choice % busy.length]!);
    await sleep(POLL_MS);
  }
  return undefined;
}

/** Sum of a metric's samples on the replica's /metrics (0 when it does not answer). */
async function readGauge(replica: Replica, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n'))
      if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{'))
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    return sum;
  } catch {
    return 0;
  }
}

/** Calls the process claimed and has neither finalized nor lost, from its log. */
function ownedCalls(fleet: Fleet, pid: number): string[] {
  const owned = new Set<string>();
  for (const line of fleet.logs) {
    if (line.pid !== pid || typeof line.fields.callSid !== 'string') continue;
    if (line.msg === 'call claimed') owned.add(line.fields.callSid);
    if (line.msg === 'call finalized' || line.msg.startsWith('claim lost')) owned.delete(line.fields.callSid);
  }
  return [...owned];
}

async function followTakeover(
  deps: { fleet: Fleet; jsm: JetStreamManager; subjects: Subjects },
  callSid: string,
  killedPid: number,
  killedAt: number,
): Promise<Takeover> {
  const stream = deps.subjects.streamName('media');
  const deadline = killedAt + TAKEOVER_WAIT_MS;
  let claimMs: number | undefined;
  while (Date.now() < deadline) {
    if (claimMs === undefined) {
      const claimed = deps.fleet.logs.find(
        (l) =>
          l.msg === 'call claimed' &&
          l.fields.callSid === callSid &&
          l.pid !== killedPid &&
          l.time >= killedAt,
      );
      if (claimed) claimMs = claimed.time - killedAt;
    }
    const info = await newestMediaConsumer(deps.jsm, stream, callSid);
    // The next owner creates the call's next consumer before it logs its claim; its first delivery is the takeover.
    if (info && Date.parse(info.created) >= killedAt && info.delivered.consumer_seq > 0)
      return { callSid, claimMs, firstFrameMs: Date.now() - killedAt };
    if (claimMs !== undefined && (!info || (info.num_pending === 0 && info.num_ack_pending === 0)))
      return { callSid, claimMs, firstFrameMs: undefined };
    await sleep(POLL_MS);
  }
  return { callSid, claimMs, firstFrameMs: undefined };
}

/** The call's consumer of the latest generation (each owner creates its own), if any. */
async function newestMediaConsumer(
  jsm: JetStreamManager,
  stream: string,
  callSid: string,
): Promise<ConsumerInfo | undefined> {
  let newest: ConsumerInfo | undefined;
  try {
    for await (const info of jsm.consumers.list(stream))
      if (isMediaConsumerOf(info.name, callSid) && (!newest || info.created > newest.created)) newest = info;
  } catch {
    return undefined; // JetStream busy (an election): asked again at the next poll
  }
  return newest;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
