import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@calltx/devstack';
import { newSid } from '@calltx/twilio-sim';
import { RANDOM_MODEL, root, SAMPLE_CALL, System } from './testing/system.js';

/**
 * The whole live pipeline as separate processes — gateway, stream-ingest, transcriber — fed by the simulator as
 * Twilio would, read by the example consumer other teams start from: a simulated call's finals come out, in order.
 */
let system: System;

beforeAll(async () => {
  system = await System.start({ label: 'sys', env: { WHISPER_MODEL_DIR: RANDOM_MODEL } });
  for (const name of ['gateway', 'stream-ingest', 'transcriber'] as const) await system.start(name);
}, 120_000);

afterAll(() => system?.stop());

describe('the live pipeline', () => {
  it('turns a simulated call into transcript finals for both speakers, which the example consumer prints in order', async () => {
    const callSid = newSid('CA');
    const consumer = spawn(
      process.execPath,
      ['--conditions=@calltx/source', '--import', 'tsx', 'examples/print-transcripts.ts', '--call', callSid],
      {
        cwd: root('packages/events-client'),
        env: { ...process.env, NATS_URL: system.natsUrl, NATS_SUBJECT_PREFIX: system.prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const lines: string[] = [];
      createInterface({ input: consumer.stdout! }).on('line', (line) => lines.push(line));
      await new Promise<void>((resolve) =>
        consumer.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()),
      );

      const call = await system.call({ callSid, wav: SAMPLE_CALL, speed: 4 });
      expect(call.framesSent.inbound).toBeGreaterThan(1000);

      // The sample has five turns per speaker: each becomes at least one final utterance.
      const finals = await eventually(() => {
        const parsed = lines.map((line) => {
          const [sequence, sid, speaker, startSeconds] = line.trim().split(/\s+/);
          return {
            sequence: Number(sequence!.slice(1)),
            sid,
            speaker,
            startMs: Number.parseFloat(startSeconds!) * 1000,
          };
        });
        for (const speaker of ['agent', 'technician'])
          expect(parsed.filter((f) => f.speaker === speaker).length).toBeGreaterThanOrEqual(5);
        return parsed;
      }, 90_000);
      expect(finals.every((f) => f.sid === callSid)).toBe(true);
      expect(finals.map((f) => f.sequence)).toEqual([...finals.map((f) => f.sequence)].sort((a, b) => a - b));
      for (const speaker of ['agent', 'technician']) {
        const starts = finals.filter((f) => f.speaker === speaker).map((f) => f.startMs);
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
      }
    } finally {
      consumer.kill('SIGTERM');
    }
  }, 150_000);
});
