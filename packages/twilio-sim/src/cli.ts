#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CalltxError } from '@calltx/events';
import { startFakeTwilioApi, type FakeTwilioApi } from './fake-api/fake-twilio-api.js';
import { runLoad, type LoadCallOutcome } from './load/run-load.js';

const HELP = `Usage: pnpm sim [options]

Plays calls against the gateway as Twilio would (voice webhook, Media Stream, status and recording
callbacks) and serves the recordings from a local fake Twilio REST API.

Options:
  --gateway <url>          where to connect (default http://127.0.0.1:$PORT, PORT defaulting to 8080)
  --public-base-url <url>  URL the gateway is known by, used in signatures (default $PUBLIC_BASE_URL or --gateway)
  --calls <n>              concurrent calls (default 1)
  --speed <x>              1 = real time, 2 = twice as fast, 0 = as fast as possible (default 1)
  --wav <path>             2-channel WAV, channel 1 agent, channel 2 technician (default assets/sample-call.wav)
  --to <+E164>             technician number dialed (default a fictional 555 number)
  --from <identity>        caller as Twilio reports it (default client:agent-1)
  --api-port <port>        fake Twilio API port (default from $TWILIO_API_BASE_URL, else any free port)
  --linger <seconds>       keep serving recordings after the calls until fetched or this long (default 30)
  -h, --help

Environment: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the same values the gateway uses).`;

const DEFAULT_WAV = fileURLToPath(new URL('../assets/sample-call.wav', import.meta.url));
const FICTIONAL_TECHNICIAN = '+15555550123';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      gateway: { type: 'string' },
      'public-base-url': { type: 'string' },
      calls: { type: 'string', default: '1' },
      speed: { type: 'string', default: '1' },
      wav: { type: 'string', default: DEFAULT_WAV },
      to: { type: 'string', default: FICTIONAL_TECHNICIAN },
      from: { type: 'string' },
      'api-port': { type: 'string' },
      linger: { type: 'string', default: '30' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const accountSid = process.env['TWILIO_ACCOUNT_SID'];
  const authToken = process.env['TWILIO_AUTH_TOKEN'];
  if (!accountSid || !authToken) {
    console.error(
      'Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to the values the gateway validates against.',
    );
    return 2;
  }
  const gateway = values.gateway ?? `http://127.0.0.1:${process.env['PORT'] ?? '8080'}`;
  const publicBaseUrl = values['public-base-url'] ?? process.env['PUBLIC_BASE_URL'] ?? gateway;
  const calls = positiveInteger(values.calls, '--calls');
  const speed = Number(values.speed);
  const lingerMs = Number(values.linger) * 1000;
  if (!(speed >= 0)) throw new UsageError('--speed must be a number ≥ 0');
  if (!(lingerMs >= 0)) throw new UsageError('--linger must be a number of seconds ≥ 0');

  const api = await startFakeTwilioApi({ accountSid, authToken, port: apiPort(values['api-port']) });
  console.log(`fake Twilio API at ${api.url}`);
  const abort = new AbortController();
  const onSignal = () => {
    console.log('hanging up…');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    console.log(
      `placing ${calls} call(s) to ${gateway} (public ${publicBaseUrl}) at speed ${speed || 'max'}`,
    );
    const result = await runLoad({
      calls,
      publicBaseUrl,
      connectBaseUrl: gateway,
      accountSid,
      authToken,
      to: values.to,
      ...(values.from ? { from: values.from } : {}),
      wav: values.wav,
      speed,
      recording: api,
      signal: abort.signal,
      onCallSettled: report,
    });
    console.log(
      `done: ${result.succeeded}/${result.calls} calls ok, ${result.framesSent.inbound}+${result.framesSent.outbound}` +
        ` frames, worst frame lag ${result.maxLagMs.toFixed(1)} ms, ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    const recordingSids = result.outcomes.flatMap((o) =>
      o.ok && o.call.recordingSid ? [o.call.recordingSid] : [],
    );
    if (!abort.signal.aborted) await lingerUntilFetched(api, recordingSids, lingerMs, abort.signal);
    return result.failed === 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await api.close();
  }
}

function report(outcome: LoadCallOutcome): void {
  const n = outcome.index + 1;
  if (!outcome.ok) {
    console.log(`call ${n} failed: ${outcome.error.message}`);
    return;
  }
  const { call } = outcome;
  const failedCallbacks = call.callbacks.filter((c) => c.error || (c.status ?? 0) >= 400);
  console.log(
    `call ${n} ${call.callSid} ${call.end}: ${call.framesSent.inbound}+${call.framesSent.outbound} frames` +
      `, ${call.callbacks.length - failedCallbacks.length}/${call.callbacks.length} callbacks ok` +
      (call.recordingSid ? `, recording ${call.recordingSid}` : ''),
  );
  for (const c of failedCallbacks) console.log(`  ${c.kind} ${c.event}: ${c.error ?? `HTTP ${c.status}`}`);
}

/** Serves until every recording was downloaded in full (or deleted), the linger time passes, or Ctrl-C. */
async function lingerUntilFetched(
  api: FakeTwilioApi,
  recordingSids: string[],
  lingerMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (recordingSids.length === 0 || lingerMs === 0) return;
  console.log(`serving ${recordingSids.length} recording(s) for up to ${lingerMs / 1000} s…`);
  const deadline = Date.now() + lingerMs;
  const pending = new Set(recordingSids);
  while (pending.size > 0 && Date.now() < deadline && !signal.aborted) {
    for (const sid of pending) {
      const fetched = api.requests.some(
        (r) => r.path.includes(`/Recordings/${sid}.wav`) && r.status === 200 && r.completed,
      );
      if (fetched || !api.hasRecording(sid)) {
        pending.delete(sid);
        console.log(`recording ${sid} ${fetched ? 'fetched' : 'deleted'}`);
      }
    }
    await sleep(250);
  }
  if (pending.size > 0) console.log(`${pending.size} recording(s) not fetched`);
}

function apiPort(flag: string | undefined): number {
  if (flag !== undefined) return positiveInteger(flag, '--api-port');
  const fromEnv = process.env['TWILIO_API_BASE_URL'];
  return fromEnv ? Number(new URL(fromEnv).port || 80) : 0;
}

function positiveInteger(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer`);
  return n;
}

class UsageError extends CalltxError {
  override readonly name = 'UsageError';

  constructor(message: string) {
    super(message, { retryable: false });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
