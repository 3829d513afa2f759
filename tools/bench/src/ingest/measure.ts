import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CLOCK_TICKS_PER_SECOND, ownCpuSeconds } from '../cpu.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const fixed = (v: number, digits = 1) => v.toFixed(digits);

/** CPU seconds used so far by this process, and by its children that have been waited for (sox). */
function cpuSeconds(): { self: number; children: number } {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  const childTicks = Number(fields[13]) + Number(fields[14]); // #16 cutime, #17 cstime
  return { self: ownCpuSeconds(), children: childTicks / CLOCK_TICKS_PER_SECOND };
}

export interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Wall and CPU seconds of `fn`. CPU time is the fair figure on a shared machine: other work
 * stretches wall time but not the CPU a conversion needs.
 */
export function timeWithCpu(fn: () => void, whose: 'self' | 'children'): Timing {
  const before = cpuSeconds();
  const start = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  return { wall, cpu: cpuSeconds()[whose] - before[whose] };
}

/** Runs `fn` on `input` (8 kHz samples, after a warm-up on its first second): x real time per core. */
export function realtimePerCore<T extends Uint8Array | Int16Array>(input: T, fn: (x: T) => unknown): number {
  fn(input.subarray(0, 8000) as T);
  return input.length / 8000 / median([0, 1, 2].map(() => timeWithCpu(() => fn(input), 'self').cpu));
}

/** Live heap plus array buffers after full collection (two passes: buffers go in the second). */
export function heapBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export function bytesPerInstance(make: () => unknown): number {
  const count = 10_000;
  const before = heapBytes();
  const instances = Array.from({ length: count }, make);
  const bytes = (heapBytes() - before) / count;
  instances.length = 0;
  return bytes;
}

export function printTable(title: string, headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  console.log(`\n${title}\n${'-'.repeat(title.length)}`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}
