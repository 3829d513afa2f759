import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { hashPassword } from '@calltx/api';
import { Subjects } from '@calltx/events';
import { createObjectStore } from '@calltx/storage';
import { newSid, simulateCall, startFakeTwilioApi } from '@calltx/twilio-sim';
import { bringUpInfra } from './infra.js';
import { narrate } from './narrator.js';
import {
  SERVICE_NAMES,
  freePort,
  isBuilt,
  startService,
  waitReady,
  type RunningService,
} from './services.js';

/**
 * `npm run demo`: the whole system on embedded defaults, a simulated call through it, and what happens, as it
 * happens. Services not built yet are skipped, so the demo shows as much of the pipeline as exists.
 */
const { values: args } = parseArgs({
  options: {
    speed: { type: 'string', default: '1' },
    'wait-seconds': { type: 'string', default: '90' },
  },
});
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const ACCOUNT_SID = `AC${'d'.repeat(32)}`;
const AUTH_TOKEN = 'demo-auth-token-0123456789abcdef';
const heading = (text: string) => console.log(`\n\x1b[1;34m== ${text}\x1b[0m`);

function whisperModelDir(): { dir: string; note: string } {
  if (process.env.WHISPER_MODEL_DIR)
    return { dir: process.env.WHISPER_MODEL_DIR, note: `Whisper model: ${process.env.WHISPER_MODEL_DIR}` };
  const fetched = root('models/whisper-tiny.en');
  if (existsSync(fetched)) return { dir: fetched, note: `Whisper model: ${fetched}` };
  return {
    dir: root('packages/whisper/fixtures/whisper-test-random'),
    note: 'Whisper model: the random-weights test model (transcript text is meaningless). For real text run `pnpm model:fetch tiny.en` first.',
  };
}

async function main(): Promise<void> {
  const dataDir = root('.data/demo');
  await mkdir(dataDir, { recursive: true });
  heading('infrastructure');
  const infra = await bringUpInfra(dataDir);
  infra.notes.forEach((note) => console.log(`  ${note}`));
  const twilioApi = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  console.log(`  Twilio: simulated; its Recordings API at ${twilioApi.url}`);
  const model = whisperModelDir();
  console.log(`  ${model.note}`);

  const gatewayPort = await freePort();
  const publicBaseUrl = `http://127.0.0.1:${gatewayPort}`;
  const env: Record<string, string> = {
    ...infra.env,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: '+15005550006',
    CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
    TWILIO_API_BASE_URL: twilioApi.url,
    PUBLIC_BASE_URL: publicBaseUrl,
    WHISPER_MODEL_DIR: model.dir,
    LOG_LEVEL: 'info',
    // One console agent for the demo: sign in at /console as `demo` / `demo`.
    CONSOLE_AGENTS: `demo:${await hashPassword('demo')}`,
    API_JWT_SECRET: randomBytes(32).toString('hex'),
  };

  heading('services');
  const services: RunningService[] = [];
  const shutdown = async () => {
    heading('shutting down');
    for (const service of services.reverse()) await service.stop();
    await twilioApi.close();
    await infra.stop();
  };
  process.once('SIGINT', () => void shutdown().then(() => process.exit(130)));
  try {
    for (const name of SERVICE_NAMES) {
      if (!isBuilt(name)) {
        console.log(`  ${name}: not built yet, skipped`);
        continue;
      }
      services.push(startService(name, name === 'gateway' ? gatewayPort : await freePort(), env));
    }
    await Promise.all(services.map((service) => waitReady(service)));
    console.log(`  ready: ${services.map((s) => `${s.name} (:${s.port})`).join(', ')}`);
    const api = services.find((s) => s.name === 'api');
    if (api) console.log(`  agent console: http://127.0.0.1:${api.port}/console (sign in as demo / demo)`);

    const nc = await connect({ servers: infra.env.NATS_URL!.split(',') });
    const subjects = new Subjects();
    const callSid = newSid('CA');
    const observed = narrate(nc, subjects, () => callSid);
    const running = new Set(services.map((s) => s.name));

    heading(`simulated call at ${args.speed}× real time`);
    const call = await simulateCall({
      publicBaseUrl,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      callSid,
      to: '+15005550100',
      wav: root('packages/twilio-sim/assets/sample-call.wav'),
      speed: Number(args.speed),
      recording: twilioApi,
    });
    console.log(`  call ended: ${call.framesSent.inbound + call.framesSent.outbound} frames sent`);

    // What a complete run looks like, given the services that are running.
    const expected = [
      subjects.call(callSid, 'stream-stopped'),
      ...(running.has('stream-ingest') ? [subjects.call(callSid, 'audio-stored')] : []),
      ...(running.has('recording-fetcher') ? [subjects.recording(callSid, 'stored')] : []),
    ];
    const deadline = Date.now() + Number(args['wait-seconds']) * 1000;
    let quietSince = Date.now();
    let seen = observed.subjects.length;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (observed.subjects.length !== seen) {
        seen = observed.subjects.length;
        quietSince = Date.now();
      }
      const complete = expected.every((subject) => observed.subjects.includes(subject));
      if (complete && Date.now() - quietSince > (running.has('transcriber') ? 8_000 : 1_000)) break;
    }

    heading('summary');
    const missing = expected.filter((subject) => !observed.subjects.includes(subject));
    console.log(
      `  events for this call: ${observed.subjects.length}; transcripts: ${observed.finals} final, ${observed.partials} partial`,
    );
    const store = createObjectStore({
      endpoint: env.S3_ENDPOINT!,
      region: env.S3_REGION ?? 'us-east-1',
      accessKey: env.S3_ACCESS_KEY!,
      secretKey: env.S3_SECRET_KEY!,
      bucket: env.S3_BUCKET!,
    });
    for await (const object of store.list(`calls/${callSid}/`))
      console.log(`  s3://${store.bucket}/${object.key}  ${object.size} bytes`);
    if (missing.length > 0)
      console.log(`  \x1b[33mnot seen within ${args['wait-seconds']} s: ${missing.join(', ')}\x1b[0m`);
    await nc.close();
    process.exitCode = missing.length > 0 ? 1 : 0;
  } finally {
    await shutdown();
  }
}

await main();
