import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  infraEnv,
  natsUrlForTests,
  postgresForTests,
  s3ForTests,
  spawnService,
  uniqueName,
  type S3TestConfig,
  type ServiceProcess,
} from '@calltx/devstack';
import { Subjects } from '@calltx/events';
import {
  simulateCall,
  startFakeTwilioApi,
  type FakeTwilioApi,
  type SimulateCallOptions,
  type SimulatedCall,
} from '@calltx/twilio-sim';
import type { ServiceName } from '../services.js';

/** A path from the repository's root. */
export const root = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
export const SAMPLE_CALL = root('packages/twilio-sim/assets/sample-call.wav');
/** The Whisper test model with random weights: quick, and its words mean nothing. */
export const RANDOM_MODEL = root('packages/whisper/fixtures/whisper-test-random');

const ACCOUNT_SID = `AC${'e'.repeat(32)}`;
const AUTH_TOKEN = 'system-test-auth-token-0123456789';
const PUBLIC_BASE_URL = 'http://gateway.system-test.invalid';

export interface SystemOptions {
  /** Names the run: its NATS subject and stream prefix is uniqueName(label). */
  label: string;
  /** Settings every service gets on top of the infra's, Twilio's and LOG_LEVEL=info. */
  env?: Record<string, string>;
  /**
   * Servers the test started itself (a cluster, TLS-only ones) and stops itself. Without them: the test NATS
   * (its streams under the prefix deleted at stop), a fresh Postgres schema and a fresh bucket.
   */
  natsUrl?: string;
  databaseUrl?: string;
  s3?: S3TestConfig;
  /** Start the fake Twilio REST API and point the services at it (TWILIO_API_BASE_URL). */
  twilioApi?: boolean;
}

/**
 * The services as separate processes on real NATS, Postgres and S3, for the end-to-end tests: owns the infra,
 * the env every service is started with, the running services by name (start, kill with any signal, start
 * again) and one teardown, so that a test keeps only its calls, its assertions and its extra env.
 */
export class System {
  readonly accountSid = ACCOUNT_SID;
  readonly authToken = AUTH_TOKEN;
  readonly prefix: string;
  readonly subjects: Subjects;
  readonly natsUrl: string;
  readonly databaseUrl: string;
  readonly s3: S3TestConfig;
  readonly #twilioApi: FakeTwilioApi | undefined;
  readonly #env: Record<string, string>;
  /** Cleans the test NATS and stops what the harness started (S3, Postgres, the fake API). */
  readonly #stopInfra: Array<() => Promise<void>>;
  readonly #services = new Map<ServiceName, ServiceProcess>();
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    prefix: string;
    natsUrl: string;
    databaseUrl: string;
    s3: S3TestConfig;
    twilioApi: FakeTwilioApi | undefined;
    env: Record<string, string>;
    stopInfra: Array<() => Promise<void>>;
  }) {
    this.prefix = parts.prefix;
    this.natsUrl = parts.natsUrl;
    this.databaseUrl = parts.databaseUrl;
    this.s3 = parts.s3;
    this.subjects = new Subjects(parts.prefix);
    this.#twilioApi = parts.twilioApi;
    this.#env = parts.env;
    this.#stopInfra = parts.stopInfra;
  }

  static async start(options: SystemOptions): Promise<System> {
    const prefix = uniqueName(options.label);
    const stops: Array<() => Promise<void>> = [];
    try {
      const [s3, databaseUrl, twilioApi] = await Promise.all([
        options.s3 ??
          s3ForTests().then((s3) => {
            stops.push(s3.stop);
            return s3.config;
          }),
        options.databaseUrl ??
          postgresForTests().then((pg) => {
            stops.push(pg.stop);
            return pg.url;
          }),
        options.twilioApi
          ? startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }).then((api) => {
              stops.push(() => api.close());
              return api;
            })
          : undefined,
      ]);
      const natsUrl = options.natsUrl ?? natsUrlForTests();
      if (!options.natsUrl) stops.unshift(() => deleteStreams(natsUrl, prefix));
      const env = {
        ...infraEnv({ natsUrl, prefix, databaseUrl, s3 }),
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_CALLER_ID: '+15005550006',
        CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
        PUBLIC_BASE_URL,
        LOG_LEVEL: 'info',
        ...(twilioApi && { TWILIO_API_BASE_URL: twilioApi.url }),
        ...options.env,
      };
      return new System({ prefix, natsUrl, databaseUrl, s3, twilioApi, env, stopInfra: stops });
    } catch (error) {
      await Promise.allSettled(stops.map((stop) => stop()));
      throw error;
    }
  }

  /** The fake Twilio REST API, when started with `twilioApi: true`. */
  get twilioApi(): FakeTwilioApi {
    if (!this.#twilioApi) throw new Error('the system was started without twilioApi');
    return this.#twilioApi;
  }

  /** Starts a service from its source with the system's env and `env` on top; resolves once it listens. */
  async start(name: ServiceName, env: Record<string, string> = {}): Promise<void> {
    if (this.#services.has(name)) throw new Error(`${name} is already running`);
    const service = await spawnService(root(`services/${name}/src/main.ts`), name, { ...this.#env, ...env });
    this.#services.set(name, service);
  }

  /** Signals a running service and resolves once it has exited; `start` brings it back. */
  async kill(name: ServiceName, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const service = this.service(name);
    this.#services.delete(name);
    service.child.kill(signal);
    await service.exited;
  }

  service(name: ServiceName): ServiceProcess {
    const service = this.#services.get(name);
    if (!service) throw new Error(`${name} is not running`);
    return service;
  }

  url(name: ServiceName): string {
    return this.service(name).baseUrl;
  }

  /** Plays a call to the gateway as Twilio would, for this system's account. */
  call(
    options: Omit<
      SimulateCallOptions,
      'publicBaseUrl' | 'connectBaseUrl' | 'accountSid' | 'authToken' | 'to'
    >,
  ): Promise<SimulatedCall> {
    return simulateCall({
      publicBaseUrl: PUBLIC_BASE_URL,
      connectBaseUrl: this.url('gateway'),
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      to: '+15005550100',
      ...options,
    });
  }

  /** SIGTERMs every running service, one after the other, then removes what the harness started. */
  stop(): Promise<void> {
    return (this.#stopping ??= (async () => {
      for (const name of [...this.#services.keys()]) await this.kill(name);
      for (const stop of this.#stopInfra) await stop();
    })());
  }
}

async function deleteStreams(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) if (name.includes(prefix)) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}
