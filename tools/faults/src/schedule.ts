import type { Prng } from './prng.js';

/** The services the schedule kills. The gateway is not one of them: see docs/reliability.md. */
export const KILLABLE = ['stream-ingest', 'transcriber', 'recording-fetcher'] as const;
export type ServiceKind = (typeof KILLABLE)[number];
/** A node of a NATS cluster the suite started itself (the cluster variant). */
export const NATS_NODE = 'nats-node';
export type KillKind = ServiceKind | typeof NATS_NODE;

export interface PlannedKill {
  /** From the start of the faulted run's first call. */
  atMs: number;
  kind: KillKind;
  /** Seeded choice among the replicas found in the kind's state (see `busy` in faults.ts). */
  choice: number;
  /** How long the slot stays empty before its replacement starts. */
  downMs: number;
}

export interface SchedulePlan {
  kills: PlannedKill[];
}

/**
 * A seeded schedule: `killsPerKind` kills of each kind, in a shuffled order, spread over `windowMs` (each at a
 * random point of its own slice, so kills never bunch up and every kind is hit while calls are in flight).
 */
export function planSchedule(
  prng: Prng,
  windowMs: number,
  killsPerKind: number,
  kinds: readonly KillKind[],
): SchedulePlan {
  const order = prng.shuffle(kinds.flatMap((kind) => Array.from({ length: killsPerKind }, () => kind)));
  const slice = windowMs / order.length;
  const kills = order.map((kind, i) => ({
    atMs: Math.round(slice * i + prng.between(0.1, 0.9) * slice),
    kind,
    choice: prng.int(1_000),
    downMs: Math.round(prng.between(300, 3_000)),
  }));
  return { kills };
}
