import { cpus, loadavg } from 'node:os';

/** The 1-, 5- and 15-minute load averages, as printed beside every figure (how quiet the machine was). */
export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/**
 * The `machine` field of a benchmark's last JSON line: cores, CPU model, Node and the load average at the start
 * and now, plus what a benchmark adds (the cores it pinned, say). Figures compare only on like machines.
 */
export function machineSummary(loadAtStart: string, extra: Record<string, unknown> = {}) {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    node: process.version,
    ...extra,
    loadAverage: { start: loadAtStart, end: loadAverage() },
  };
}
