import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUrlForTests } from '@calltx/devstack';
import { eventsTestBed, newCallSid, transcript, type EventsTestBed } from './testing/events.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

describe('examples/print-transcripts.ts', () => {
  let bed: EventsTestBed;
  beforeAll(async () => {
    bed = await eventsTestBed();
  });
  afterAll(() => bed.stop());

  it("prints one call's finals live, in order, and nothing else", async () => {
    const call = newCallSid();
    const child = spawn(
      process.execPath,
      ['--conditions=@calltx/source', '--import', 'tsx', 'examples/print-transcripts.ts', '--call', call],
      {
        cwd: PACKAGE_DIR,
        env: { ...process.env, NATS_URL: natsUrlForTests(), NATS_SUBJECT_PREFIX: bed.subjects.prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = once(child, 'exit');
    try {
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('listening on')) resolve();
        });
        void exited.then(() => reject(new Error(`example exited early: ${stderr}`)));
      });
      const lines: string[] = [];
      const gotAll = new Promise<void>((resolve) =>
        createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          if (lines.length === 4) resolve();
        }),
      );

      // The conversation as the transcriber publishes it: partials, then each utterance's final; another call beside.
      const conversation = [
        { speaker: 'agent', sequence: 0, text: 'Hello, this is support.' },
        { speaker: 'technician', sequence: 0, text: 'Hi, the pump is leaking.' },
        { speaker: 'agent', sequence: 1, text: 'Which model is it?' },
        { speaker: 'technician', sequence: 1, text: 'The P-200.' },
      ];
      for (const line of conversation) {
        const words = line.text.split(' ');
        await bed.publishTranscript(transcript({ callSid: call, ...line, text: words[0]!, final: false }));
        await bed.publishTranscript(
          transcript({ callSid: newCallSid(), ...line, text: 'another call', final: true }),
        );
        await bed.publishTranscript(transcript({ callSid: call, ...line, final: true }));
      }
      await gotAll;
      expect(lines.map((line) => line.replace(/^#\d+ /, ''))).toEqual(
        conversation.map(
          (u) => `${call} ${u.speaker.padEnd(10)} ${(u.sequence * 2).toFixed(1).padStart(6)}s  ${u.text}`,
        ),
      );
      const sequences = lines.map((line) => Number(/^#(\d+)/.exec(line)![1]));
      expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    } finally {
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    }
  });
});
