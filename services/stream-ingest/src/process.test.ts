import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { kill, spawnIngest, type IngestProcess } from './testing/process.js';
import { SyntheticCall } from './testing/synthetic-call.js';
import { expectExactWavs } from './testing/wav-assert.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('stream-ingest as processes', () => {
  let env: TestEnvironment;
  const running = new Set<IngestProcess>();

  const start = async (overrides: Record<string, string> = {}) => {
    const ingest = await spawnIngest(
      env.processEnv({
        INGEST_CLAIM_TTL_MS: '2000',
        INGEST_PART_FLUSH_MS: '250',
        INGEST_SWEEP_INTERVAL_MS: '200',
        STREAM_IDLE_FINALIZE_MS: '30000',
        SHUTDOWN_GRACE_MS: '5000',
        ...overrides,
      }),
    );
    running.add(ingest);
    return ingest;
  };
  const crash = async (ingest: IngestProcess) => {
    await kill(ingest);
    running.delete(ingest);
  };

  beforeAll(async () => {
    env = await createTestEnvironment();
  });

  afterEach(async () => {
    for (const ingest of running) {
      ingest.child.kill('SIGTERM');
      await ingest.exited;
    }
    running.clear();
  });

  afterAll(async () => {
    await env?.close();
  });

  const finalized = (callSid: string, timeoutMs = 30_000) =>
    eventually(
      async () => expect((await env.repo.get(callSid))?.ingestState).toBe('finalized'),
      timeoutMs,
      200,
    );

  it(
    'keeps every frame exactly once across SIGKILLs mid-call and during finalize',
    { timeout: 90_000 },
    async () => {
      const seed = Date.now();
      let random = seed;
      const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const kills = [3_000 + Math.floor(next() * 8) * 500, 10_000 + Math.floor(next() * 8) * 500];
      const because = `seed ${seed}`;

      let ingest = await start();
      const owners: IngestProcess[] = [ingest];
      const call = new SyntheticCall(env.js, env.subjects);
      await call.start();
      // Each owner claims the call and processes part of it live before it is killed, at a random moment.
      const killAndReplace = async (afterMs: number) => {
        await eventually(() => expect(ingest.claimed(), because).toContain(call.callSid));
        await sleep(afterMs);
        await crash(ingest);
        ingest = await start();
        owners.push(ingest);
      };
      for (let t = 0; t < 16_000; t += 500) {
        await call.stream(t, t + 500, 5);
        await sleep(100);
        if (kills.includes(t)) await killAndReplace(Math.floor(next() * 300));
      }
      await eventually(() => expect(ingest.claimed(), because).toContain(call.callSid));
      await call.stop();
      // Once more while it writes the WAVs or lingers after announcing them.
      await eventually(() => expect(ingest.logs.map((l) => l.msg)).toContain('finalizing call'));
      await killAndReplace(Math.floor(next() * 300));
      await finalized(call.callSid);

      const files = await env.repo.files(call.callSid);
      for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
      expect(
        owners.map((owner) => owner.claimed().includes(call.callSid)),
        because,
      ).toEqual([true, true, true, true]);
    },
  );

  it(
    'shares calls between two replicas, and one takes over the calls of the other when it dies',
    { timeout: 90_000 },
    async () => {
      // A owns the first calls for sure (so its crash leaves calls to take over); the rest start with both running,
      // and whichever replica pulls a call's start claims it.
      const a = await start();
      const calls = Array.from({ length: 6 }, () => new SyntheticCall(env.js, env.subjects));
      for (const call of calls.slice(0, 3)) await call.start();
      await eventually(() => expect(a.claimed().length).toBe(3));
      const b = await start();
      for (const call of calls.slice(3)) {
        await call.start();
        await sleep(150);
      }
      for (let t = 0; t < 8_000; t += 500) {
        // Gateways of three releases at once (a rolling upgrade): v3, v2 and v1 messages.
        await Promise.all(
          calls.map((call, i) =>
            call.stream(t, t + 500, 5, call.tracks, (['v3', 'v2', 'v1'] as const)[i % 3]),
          ),
        );
        await sleep(25);
        if (t === 4_000) await crash(a);
      }
      await Promise.all(calls.map((call) => call.stop()));
      await Promise.all(calls.map((call) => finalized(call.callSid)));

      for (const call of calls) {
        const files = await env.repo.files(call.callSid);
        for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
      }
      // B ends up owning every call: the ones it claimed while both ran, and every one A held when it died.
      expect(a.claimed().length).toBeGreaterThanOrEqual(3);
      expect(new Set(b.claimed())).toEqual(new Set(calls.map((call) => call.callSid)));
    },
  );

  it(
    'hands a call over at once on SIGTERM: what it held is stored, the claim released',
    { timeout: 60_000 },
    async () => {
      // A claim TTL far beyond the test: the takeover can only come from the release.
      const slowTtl = { INGEST_CLAIM_TTL_MS: '60000' };
      const a = await start(slowTtl);
      const call = new SyntheticCall(env.js, env.subjects);
      await call.start();
      await eventually(() => expect(a.claimed()).toContain(call.callSid));
      const b = await start(slowTtl);
      for (let t = 0; t < 3_000; t += 500) {
        await call.stream(t, t + 500, 5);
        await sleep(25);
      }
      a.child.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      running.delete(a);
      expect(a.logs.map((l) => l.msg)).toContain('shutdown complete');
      await eventually(() => expect(b.claimed()).toContain(call.callSid), 5_000);
      await call.stream(3_000, 5_000, 5);
      await call.stop();
      await finalized(call.callSid);
      const files = await env.repo.files(call.callSid);
      for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
    },
  );
});
