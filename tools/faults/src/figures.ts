import { framesMissing } from './compare.js';
import type { RunOutcome } from './run.js';
import type { KillKind } from './schedule.js';

export interface Figures {
  seed: number;
  variant: string;
  calls: number;
  kills: Record<string, number>;
  skippedKills: number;
  /** Frames sent by the simulator and missing from the stored stream audio, per run. */
  framesLost: { reference: number; faulted: number };
  /** Of the faulted run's: frames the gateway itself counted as lost. */
  framesLostAtGateway: number;
  duplicates: number;
  settleSeconds: { reference: number; faulted: number };
  /** Kill of a stream-ingest owner → the next owner's first frame (or its claim when no frame was left). */
  takeoverMs: { count: number; p50: number | null; p95: number | null; untaken: number };
  wallSeconds: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export function figuresOf(input: {
  seed: number;
  variant: string;
  calls: number;
  reference: RunOutcome;
  faulted: RunOutcome;
  duplicates: number;
  kinds: readonly KillKind[];
  wallMs: number;
}): Figures {
  const { reference, faulted } = input;
  const kills = Object.fromEntries(input.kinds.map((k) => [k, 0]));
  for (const kill of faulted.faults?.kills ?? []) kills[kill.kind] = (kills[kill.kind] ?? 0) + 1;
  const lost = (run: RunOutcome) =>
    [...run.record.calls.values()].reduce(
      (sum, call) => sum + framesMissing(call, run.framesSent.get(call.callSid)),
      0,
    );
  const framesLostAtGateway = [...faulted.record.calls.values()].reduce(
    (sum, c) => sum + c.framesLostAtGateway,
    0,
  );
  const takeovers = faulted.faults?.takeovers ?? [];
  const delays = takeovers
    .map((t) => t.firstFrameMs ?? t.claimMs)
    .filter((d): d is number => d !== undefined)
    .sort((a, b) => a - b);
  return {
    seed: input.seed,
    variant: input.variant,
    calls: input.calls,
    kills,
    skippedKills: faulted.faults?.skipped.length ?? 0,
    framesLost: { reference: lost(reference), faulted: lost(faulted) },
    framesLostAtGateway,
    duplicates: input.duplicates,
    settleSeconds: { reference: reference.settleMs / 1000, faulted: faulted.settleMs / 1000 },
    takeoverMs: {
      count: delays.length,
      p50: percentile(delays, 50),
      p95: percentile(delays, 95),
      untaken: takeovers.length - delays.length,
    },
    wallSeconds: Math.round(input.wallMs / 1000),
  };
}

export function printFigures(f: Figures): void {
  console.log('\nfaults: figures');
  console.log(`  calls                 ${f.calls}`);
  console.log(
    `  kills                 ${Object.entries(f.kills)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}${f.skippedKills ? ` (${f.skippedKills} skipped: no replica in the state)` : ''}`,
  );
  console.log(
    `  frames lost           ${f.framesLost.faulted} (reference ${f.framesLost.reference}; counted lost by the gateway ${f.framesLostAtGateway})`,
  );
  console.log(`  duplicates            ${f.duplicates}`);
  console.log(
    `  time to settle        ${f.settleSeconds.faulted.toFixed(1)} s (reference ${f.settleSeconds.reference.toFixed(1)} s)`,
  );
  console.log(
    `  takeover delay        p50 ${f.takeoverMs.p50 ?? '–'} ms, p95 ${f.takeoverMs.p95 ?? '–'} ms over ${f.takeoverMs.count} orphaned call(s)${f.takeoverMs.untaken ? `, ${f.takeoverMs.untaken} never taken over` : ''}`,
  );
  console.log(`  wall time             ${f.wallSeconds} s`);
}
