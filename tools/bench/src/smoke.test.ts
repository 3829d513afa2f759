import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The benchmarks run the services' built entry points with the configuration those require; a service that starts
 * needing a new variable breaks its benchmark without any other test noticing. These runs are tiny: they check that
 * each benchmark still measures, not how fast anything is.
 */
const run = promisify(execFile);
const script = (name: string) => fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));

describe('benchmarks still run end to end', () => {
  it('bench:gateway, 2 calls for 2 s: every frame sent reaches JetStream, and both servers report CPU time', async () => {
    const { stdout } = await run(process.execPath, [script('gateway'), '--calls', '2', '--seconds', '2'], {
      timeout: 120_000,
    });
    // 2 calls × 2 s × 50 frames/s × 2 tracks
    expect(stdout).toMatch(/^N=2 \(call\): frames 400, lost 0, /m);
    expect(stdout).toMatch(/CPU\/frame gateway \d+\.\d µs vs bare ws \d+\.\d µs/);
  }, 150_000);

  it('bench:memory, 20 idle calls: both services own them, and RSS per call is reported as JSON', async () => {
    const { stdout } = await run(
      process.execPath,
      [script('memory'), '--calls', '20', '--warmup', '5', '--settle-ms', '200'],
      { timeout: 120_000 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ bench: 'memory', calls: 20, goalKiBPerCall: 64 });
    expect(typeof summary.gatewayKiBPerCall).toBe('number');
    expect(typeof summary.ingestKiBPerCall).toBe('number');
  }, 150_000);

  it('bench:transcriber, 1 call for 3 s on the small test model: finals arrive, split by stage, summed up as JSON', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        script('transcriber'),
        '--model',
        'packages/whisper/fixtures/whisper-test-random',
        '--skip-engine',
        '--calls',
        '1',
        '--seconds',
        '3',
      ],
      { timeout: 200_000 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      bench: string;
      replicas: number;
      droppedFinals: number;
      steps: Array<{ calls: number; partialsSent: number; stagesMs: Record<string, number | null> }>;
    };
    expect(summary).toMatchObject({ bench: 'transcriber', droppedFinals: 0 });
    expect(summary.replicas).toBeGreaterThanOrEqual(1);
    expect(summary.steps).toHaveLength(1);
    expect(summary.steps[0]!.partialsSent).toBeGreaterThan(0);
    for (const stage of ['delivery', 'queue', 'log-mel', 'encoder', 'decoder'])
      expect(typeof summary.steps[0]!.stagesMs[stage], stage).toBe('number');
  }, 240_000);

  it('transcriber levers, 1 round on the small test model: every ratio and the event-loop figure reported', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        script('transcriber-levers'),
        '--model',
        'packages/whisper/fixtures/whisper-test-random',
        '--rounds',
        '1',
      ],
      { timeout: 120_000 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ bench: 'transcriber-levers', rounds: 1 });
    for (const key of ['encoderBatchOf2Ratio', 'encoderPreallocatedRatio', 'decoderPreallocatedLogitsRatio'])
      expect(summary[key], key).toBeGreaterThan(0);
    expect(summary.eventLoopBlockedMs).toBeGreaterThanOrEqual(0);
  }, 150_000);

  it('bench:fetcher, a 1-minute recording: stored, timed beside sox, peak RSS read', async () => {
    const { stdout } = await run(process.execPath, [script('fetcher'), '--minutes', '1', '--rounds', '1'], {
      timeout: 120_000,
    });
    expect(stdout).toMatch(/^round 1: fetcher \d+\.\d+ s \(CPU \d+\.\d+ s\), sox \d+\.\d+ s/m);
    expect(stdout).toMatch(/\| fetcher peak RSS, all rounds \(after start-up: \d+ MiB\) \| \d+ MiB \|/);
  }, 150_000);
});
