import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  natsUrlForTests,
  postgresForTests,
  s3ForTests,
  spawnService,
  uniqueName,
  type PostgresForTests,
  type S3ForTests,
  type ServiceProcess,
  infraEnv,
} from '@calltx/devstack';
import { newSid, simulateCall } from '@calltx/twilio-sim';

/**
 * The whole live pipeline as separate processes — gateway, stream-ingest, transcriber — fed by the simulator as
 * Twilio would, read by the example consumer other teams start from: a simulated call's finals come out, in order.
 */
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const ACCOUNT_SID = `AC${'e'.repeat(32)}`;
const AUTH_TOKEN = 'system-test-auth-token-0123456789';
const PUBLIC_BASE_URL = 'http://gateway.system-test.invalid';

let s3: S3ForTests;
let pg: PostgresForTests;
const prefix = uniqueName('sys');
const services: ServiceProcess[] = [];

beforeAll(async () => {
  [s3, pg] = await Promise.all([s3ForTests(), postgresForTests()]);
  const env = {
    ...infraEnv({ natsUrl: natsUrlForTests(), prefix, databaseUrl: pg.url, s3: s3.config }),
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: '+15005550006',
    CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
    PUBLIC_BASE_URL,
    WHISPER_MODEL_DIR: root('packages/whisper/fixtures/whisper-test-random'),
    LOG_LEVEL: 'info',
  };
  for (const name of ['gateway', 'stream-ingest', 'transcriber'])
    services.push(await spawnService(root(`services/${name}/src/main.ts`), name, env));
}, 120_000);

afterAll(async () => {
  for (const service of services) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  const nc = await connect({ servers: natsUrlForTests() });
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) if (name.includes(prefix)) await jsm.streams.delete(name);
  await nc.close();
  await pg.stop();
  await s3.stop();
});

describe('the live pipeline', () => {
  it('turns a simulated call into transcript finals for both speakers, which the example consumer prints in order', async () => {
    const callSid = newSid('CA');
    const consumer = spawn(
      process.execPath,
      ['--conditions=@calltx/source', '--import', 'tsx', 'examples/print-transcripts.ts', '--call', callSid],
      {
        cwd: root('packages/events-client'),
        env: { ...process.env, NATS_URL: natsUrlForTests(), NATS_SUBJECT_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const lines: string[] = [];
      createInterface({ input: consumer.stdout! }).on('line', (line) => lines.push(line));
      await new Promise<void>((resolve) =>
        consumer.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()),
      );

      const gateway = services[0]!;
      const call = await simulateCall({
        publicBaseUrl: PUBLIC_BASE_URL,
        connectBaseUrl: gateway.baseUrl,
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        callSid,
        to: '+15005550100',
        wav: root('packages/twilio-sim/assets/sample-call.wav'),
        speed: 4,
      });
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
