import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepareCallAudio } from '../audio/call-audio.js';
import { simulateCall, type SimulateCallOptions, type SimulatedCall } from '../call/simulate-call.js';

export interface RunLoadOptions extends Omit<SimulateCallOptions, 'callSid'> {
  /** How many calls to run at once. */
  calls: number;
  /** Gap between call starts, so they do not all hit the gateway in the same millisecond; default 20 ms. */
  staggerMs?: number;
  /** Told about each call as it settles. */
  onCallSettled?: (outcome: LoadCallOutcome) => void;
}

export type LoadCallOutcome =
  { index: number; ok: true; call: SimulatedCall } | { index: number; ok: false; error: Error };

export interface LoadResult {
  calls: number;
  succeeded: number;
  failed: number;
  framesSent: { inbound: number; outbound: number };
  /** Worst media-frame lateness across all calls, in ms (real-time pacing only). */
  maxLagMs: number;
  wallMs: number;
  /** One per call, in call order. */
  outcomes: LoadCallOutcome[];
}

const DEFAULT_STAGGER_MS = 20;

/**
 * Runs `calls` simulated calls concurrently with staggered starts, all sharing one prepared copy of the
 * audio and the process-wide frame pacer. Never rejects for a failing call: failures are counted.
 * Aborting `signal` stops starting calls and hangs up the running ones.
 */
export async function runLoad(options: RunLoadOptions): Promise<LoadResult> {
  const { calls, staggerMs = DEFAULT_STAGGER_MS, onCallSettled, ...callOptions } = options;
  if (!Number.isInteger(calls) || calls < 1)
    throw new RangeError(`calls must be a positive integer (got ${calls})`);
  const startedAt = performance.now();
  const wav = await prepareCallAudio(callOptions.wav);

  const runs: Promise<LoadCallOutcome>[] = [];
  for (let index = 0; index < calls; index++) {
    if (options.signal?.aborted) break;
    if (index > 0 && staggerMs > 0) await sleep(staggerMs);
    runs.push(
      simulateCall({ ...callOptions, wav })
        .then(
          (call): LoadCallOutcome => ({ index, ok: true, call }),
          (error: unknown): LoadCallOutcome => ({
            index,
            ok: false,
            error: error instanceof Error ? error : new Error(String(error)),
          }),
        )
        .then((outcome) => {
          onCallSettled?.(outcome);
          return outcome;
        }),
    );
  }
  const outcomes = await Promise.all(runs);

  const framesSent = { inbound: 0, outbound: 0 };
  let maxLagMs = 0;
  for (const outcome of outcomes) {
    if (!outcome.ok) continue;
    framesSent.inbound += outcome.call.framesSent.inbound;
    framesSent.outbound += outcome.call.framesSent.outbound;
    maxLagMs = Math.max(maxLagMs, outcome.call.maxLagMs);
  }
  const succeeded = outcomes.filter((outcome) => outcome.ok).length;
  return {
    calls: outcomes.length,
    succeeded,
    failed: outcomes.length - succeeded,
    framesSent,
    maxLagMs,
    wallMs: performance.now() - startedAt,
    outcomes,
  };
}
