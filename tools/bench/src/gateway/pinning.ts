import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * CPU pinning the way a pod gets CPUs: the system under test on its own core(s), the load generator and
 * nats-server on the others. Lists are taskset's (`0`, `1-3`, `0,2`).
 */
export interface Pinning {
  /** Cores for the server under test (the gateway, then the bare server). */
  server: string;
  /** Cores for this process (the simulator) and every child it spawns unpinned (nats-server). */
  load: string;
}

/** Cores in a taskset list. */
export function coreCount(list: string): number {
  return list
    .split(',')
    .map((range) => range.split('-').map(Number))
    .reduce((n, [from = 0, to = from]) => n + to - from + 1, 0);
}

/** The default split: the server on core 0, everything else on the remaining cores. */
export function defaultPinning(): Pinning {
  const cores = availableParallelism();
  return { server: '0', load: cores > 2 ? `1-${cores - 1}` : '1' };
}

/** Pins every thread of this process; children spawned afterwards inherit the set. */
export function pinSelf(cores: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(process.pid)], { stdio: 'ignore' });
}
