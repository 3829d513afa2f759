import { z } from 'zod';
import { ConfigError, loadConfig, type Config, type VariableSpec } from '@calltx/shared';

export const SHARED_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_API_BASE_URL',
  'RECORDING_CHANNEL_SPEAKERS',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
] as const;

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const positiveInt = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const spec = <S extends z.ZodType>(schema: S, description: string): VariableSpec<S> => ({
  schema,
  description,
});

/**
 * Variables only the recording fetcher reads, in the shape of @calltx/shared's VARIABLES table (they belong
 * there; until then this service validates them itself, with the same rules and error reporting).
 */
export const RECORDING_VARIABLES = {
  RECORDING_REDIRECT_HOSTS: spec(
    z
      .string()
      .transform((value) => value.split(',').map((host) => host.trim().toLowerCase()))
      .pipe(
        z
          .array(z.string().regex(HOST_PATTERN, 'must be host names or *.domain patterns, comma-separated'))
          .min(1),
      )
      .default(['*.twilio.com', '*.twiliocdn.com']),
    'Hosts a recording download may be redirected to, besides the TWILIO_API_BASE_URL host (which keeps the credentials); ' +
      '"*.example.com" matches any subdomain. Redirects elsewhere are refused.',
  ),
  RECORDING_DELETE_AFTER_STORE: spec(
    z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .transform((value) => value === 'true')
      .default(false),
    "Delete the recording at Twilio once the stored copy is verified (keeps Twilio's storage bill and exposure down).",
  ),
  RECORDING_MAX_BYTES: spec(
    positiveInt(1024, 512 * 1024 * 1024),
    'Largest recording accepted (bytes); a bigger Content-Length or body is refused. The default fits 4 hours of dual-channel 8 kHz 16-bit audio.',
  ),
  RECORDING_DOWNLOAD_TIMEOUT_MS: spec(
    positiveInt(100, 30_000),
    'A download is abandoned when no byte arrives for this long (connect, headers or body).',
  ),
  RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC: spec(
    positiveInt(1, 64 * 1024),
    'Slowest average download rate tolerated once RECORDING_DOWNLOAD_TIMEOUT_MS has passed; a slower transfer is abandoned and retried.',
  ),
  RECORDING_FETCH_ATTEMPTS: spec(
    positiveInt(1, 8),
    'Downloads tried per recording when Twilio answers 404 (not ready yet), 5xx, times out or cuts the transfer; then it is recorded as failed.',
  ),
  RECORDING_FETCH_BACKOFF_MS: spec(
    positiveInt(0, 2_000),
    'Wait before the second download attempt; doubles for each further one (at most 60 s).',
  ),
  RECORDING_ACK_WAIT_MS: spec(
    positiveInt(1_000, 30_000),
    'Time after which JetStream redelivers a callback whose fetcher went silent (a live fetcher extends it while working).',
  ),
  RECORDING_CONCURRENCY: spec(
    positiveInt(1, 1),
    'Recordings fetched at once by one replica; each adds about 50 MiB of memory at its peak (scale replicas first).',
  ),
} as const satisfies Record<string, VariableSpec>;

type RecordingVariables = {
  readonly [K in keyof typeof RECORDING_VARIABLES]: z.output<(typeof RECORDING_VARIABLES)[K]['schema']>;
};

export type FetcherConfig = Config<(typeof SHARED_VARIABLES)[number]> & RecordingVariables;

/** Reads and validates every variable the service needs; all problems (shared and local) in one ConfigError. */
export function loadFetcherConfig(env: Record<string, string | undefined> = process.env): FetcherConfig {
  const problems: string[] = [];
  let shared: Config<(typeof SHARED_VARIABLES)[number]> | undefined;
  try {
    shared = loadConfig(SHARED_VARIABLES, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const local: Record<string, unknown> = {};
  for (const [name, { schema }] of Object.entries(RECORDING_VARIABLES)) {
    const raw = env[name];
    const result = (schema as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (result.success) local[name] = result.data;
    else problems.push(`${name} ${result.error.issues.map((i) => i.message).join(', ')}`);
  }
  const speakers = shared?.RECORDING_CHANNEL_SPEAKERS;
  if (speakers && (speakers['1'] === speakers['2'] || speakers['1'] === 'dual' || speakers['2'] === 'dual')) {
    // Each channel becomes <speaker>.wav beside dual.wav: the names must not collide.
    problems.push('RECORDING_CHANNEL_SPEAKERS must name two different speakers, neither of them "dual"');
  }
  if (problems.length > 0 || !shared) throw new ConfigError(problems);
  return { ...shared, ...(local as RecordingVariables) };
}
