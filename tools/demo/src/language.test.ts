import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  infraEnv,
  natsUrlForTests,
  postgresForTests,
  s3ForTests,
  spawnService,
  storedEvents,
  uniqueName,
  type PostgresForTests,
  type S3ForTests,
  type ServiceProcess,
} from '@calltx/devstack';
import { Subjects } from '@calltx/events';
import { newSid, simulateCall, startFakeTwilioApi, type FakeTwilioApi } from '@calltx/twilio-sim';

/**
 * Per-call language and hints end to end, every service a process: the browser's connect params reach the voice
 * webhook (signed, as Twilio posts them), ride on call.started, and the transcriber decodes the call's live speech
 * and its recording with the German language token and the hints as Whisper's previous-text prompt.
 */
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const MODEL_DIR = root('packages/whisper/fixtures/whisper-test-random');
const ACCOUNT_SID = `AC${'d'.repeat(32)}`;
const AUTH_TOKEN = 'language-test-auth-token-0123456789';
const PUBLIC_BASE_URL = 'http://gateway.language-test.invalid';

let s3: S3ForTests;
let pg: PostgresForTests;
let twilioApi: FakeTwilioApi;
let nc: NatsConnection;
const prefix = uniqueName('lang');
const subjects = new Subjects(prefix);
const services = new Map<string, ServiceProcess>();

beforeAll(async () => {
  [s3, pg] = await Promise.all([s3ForTests(), postgresForTests()]);
  twilioApi = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  nc = await connect({ servers: natsUrlForTests() });
  const env = {
    ...infraEnv({ natsUrl: natsUrlForTests(), prefix, databaseUrl: pg.url, s3: s3.config }),
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: '+15005550006',
    CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
    TWILIO_API_BASE_URL: twilioApi.url,
    PUBLIC_BASE_URL,
    WHISPER_MODEL_DIR: MODEL_DIR,
    LOG_LEVEL: 'info',
  };
  for (const name of ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher']) {
    // The transcriber's debug lines name the prompt each utterance was decoded with.
    const level = name === 'transcriber' ? { LOG_LEVEL: 'debug' } : {};
    services.set(name, await spawnService(root(`services/${name}/src/main.ts`), name, { ...env, ...level }));
  }
}, 120_000);

afterAll(async () => {
  for (const service of services.values()) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) if (name.includes(prefix)) await jsm.streams.delete(name);
  await nc?.close();
  await twilioApi?.close();
  await pg?.stop();
  await s3?.stop();
});

describe('a call placed with language=de and hints', () => {
  it('is decoded with the German language token and the hints, live and from its recording', async () => {
    const callSid = newSid('CA');
    const hints = 'Wärmepumpe';
    const call = await simulateCall({
      publicBaseUrl: PUBLIC_BASE_URL,
      connectBaseUrl: services.get('gateway')!.baseUrl,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      callSid,
      to: '+15005550100',
      voiceParams: { language: 'de', hints },
      wav: root('packages/twilio-sim/assets/sample-call.wav'),
      speed: 4,
      recording: twilioApi,
    });
    expect(call.twiml).toContain('<Dial');

    const [started] = await storedEvents(
      jetstream(nc),
      subjects.streamName('calls'),
      subjects.call(callSid, 'started'),
    );
    expect(started).toMatchObject({ type: 'call.started.v1', language: 'de', hints });

    // The German token and <|startofprev|> + the hints' tokens, from the model's own files.
    const generation = JSON.parse(await readFile(join(MODEL_DIR, 'generation_config.json'), 'utf8')) as {
      lang_to_id: Record<string, number>;
    };
    const tokenizer = JSON.parse(await readFile(join(MODEL_DIR, 'tokenizer.json'), 'utf8')) as {
      added_tokens: Array<{ id: number; content: string }>;
    };
    const special = (name: string) => tokenizer.added_tokens.find((t) => t.content === name)!.id;
    const german = generation.lang_to_id['<|de|>']!;
    const [startOfPrev, sot, transcribe] = ['<|startofprev|>', '<|startoftranscript|>', '<|transcribe|>'].map(
      special,
    );

    const transcriber = services.get('transcriber')!;
    const prompts = await eventually(() => {
      const logged = transcriber.logs.filter((l) => l.msg === 'transcribed' && l.callSid === callSid);
      expect(new Set(logged.map((l) => l.kind))).toContain('final');
      expect(new Set(logged.map((l) => l.kind))).toContain('recording');
      return logged.map((l) => ({ kind: l.kind as string, prompt: l.prompt as number[] }));
    }, 120_000);
    for (const { prompt } of prompts) {
      const at = prompt.indexOf(sot!);
      expect(prompt[0]).toBe(startOfPrev);
      expect(at).toBeGreaterThan(1);
      expect(prompt.slice(at, at + 3)).toEqual([sot, german, transcribe]);
    }

    const finals = await eventually(async () => {
      const found = await storedEvents(
        jetstream(nc),
        subjects.streamName('transcripts'),
        subjects.allTranscripts('final'),
      );
      const ofCall = found.filter((f) => f.callSid === callSid);
      expect(new Set(ofCall.map((f) => f.source))).toEqual(new Set(['live', 'recording']));
      return ofCall;
    }, 120_000);
    for (const final of finals) expect(final.language).toBe('de');
  }, 240_000);
});
