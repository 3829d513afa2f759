import { z } from 'zod';
import {
  AUDIO_REDACTION_VARIABLES,
  booleanFlag,
  ConfigError,
  loadConfig,
  positiveInt,
  speakerMap,
  variable,
  type Config,
} from '@calltx/config';
import { DATABASE_VARIABLES } from '@calltx/db';
import { NATS_VARIABLES } from '@calltx/nats';
import { RUNTIME_VARIABLES } from '@calltx/runtime';
import { STORAGE_VARIABLES } from '@calltx/storage';
import { TWILIO_ACCOUNT_VARIABLES } from '@calltx/twilio-account';

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

export const FETCHER_VARIABLES = {
  ...NATS_VARIABLES,
  ...DATABASE_VARIABLES,
  ...STORAGE_VARIABLES,
  ...TWILIO_ACCOUNT_VARIABLES,
  RECORDING_CHANNEL_SPEAKERS: variable(
    speakerMap(['1', '2']).default({ '1': 'agent', '2': 'technician' }),
    'Dual-channel recording channel → speaker, e.g. 1=agent,2=technician.',
  ),
  ...RUNTIME_VARIABLES,
  RECORDING_REDIRECT_HOSTS: variable(
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
  RECORDING_DELETE_AFTER_STORE: variable(
    booleanFlag(false),
    "Delete the recording at Twilio once the stored copy is verified (keeps Twilio's storage bill and exposure down).",
  ),
  RECORDING_MAX_BYTES: variable(
    positiveInt(1024, 512 * 1024 * 1024),
    'Largest recording accepted (bytes); a bigger Content-Length or body is refused. The default fits 4 hours of dual-channel 8 kHz 16-bit audio.',
  ),
  RECORDING_DOWNLOAD_TIMEOUT_MS: variable(
    positiveInt(100, 30_000),
    'A download is abandoned when no byte arrives for this long (connect, headers or body).',
  ),
  RECORDING_DOWNLOAD_MIN_BYTES_PER_SEC: variable(
    positiveInt(1, 64 * 1024),
    'Slowest average download rate tolerated once RECORDING_DOWNLOAD_TIMEOUT_MS has passed; a slower transfer is abandoned and retried.',
  ),
  RECORDING_FETCH_ATTEMPTS: variable(
    positiveInt(1, 8),
    'Downloads tried per recording when Twilio answers 404 (not ready yet), 5xx, times out or cuts the transfer; then it is recorded as failed.',
  ),
  RECORDING_FETCH_BACKOFF_MS: variable(
    positiveInt(0, 2_000),
    'Wait before the second download attempt; doubles for each further one (at most 60 s).',
  ),
  RECORDING_ACK_WAIT_MS: variable(
    positiveInt(1_000, 30_000),
    'Time after which JetStream redelivers a callback whose fetcher went silent (a live fetcher extends it while working); also how long the lease a fetcher takes on a recording lasts unless renewed.',
  ),
  RECORDING_CONCURRENCY: variable(
    positiveInt(1, 1),
    'Recordings fetched at once by one replica; each adds about 35 MiB of memory at its peak, three upload buffers of which stay for reuse (scale replicas first).',
  ),
  RECORDING_RECONCILE_AFTER_MS: variable(
    positiveInt(100, 600_000),
    'Time after a call ends before the fetcher asks Twilio for the recordings of a call whose recording it has not stored (a lost or refused callback); what Twilio lists is archived as its callback would have been.',
  ),
  RECORDING_RECONCILE_GIVE_UP_MS: variable(
    positiveInt(0, 3_600_000),
    'How long after RECORDING_RECONCILE_AFTER_MS the fetcher keeps asking (with backoff) while Twilio still lists the recording as processing, or not at all; then the call is recorded as recording-missing, counted and logged.',
  ),
  RECORDING_RECONCILE_KEEP_MS: variable(
    positiveInt(1_000, 30 * 24 * 3_600_000),
    'How long a call stays in recording_reconcile once its reconciliation has ended (stored, recovered, twilio-final or recording-missing); older rows are deleted, from every replica safely. Calls still waiting are never pruned.',
  ),
  ...AUDIO_REDACTION_VARIABLES,
};

export type FetcherConfig = Config<typeof FETCHER_VARIABLES>;

/** Reads and validates every variable the service needs; all problems in one ConfigError. */
export function loadFetcherConfig(env: Record<string, string | undefined> = process.env): FetcherConfig {
  const config = loadConfig(FETCHER_VARIABLES, env);
  const speakers = config.RECORDING_CHANNEL_SPEAKERS;
  if (speakers['1'] === speakers['2'] || speakers['1'] === 'dual' || speakers['2'] === 'dual') {
    // Each channel becomes <speaker>.wav beside dual.wav: the names must not collide.
    throw new ConfigError([
      'RECORDING_CHANNEL_SPEAKERS must name two different speakers, neither of them "dual"',
    ]);
  }
  return config;
}
