import { z } from 'zod';

/**
 * Every environment variable the system reads: the single source of truth for services, docs
 * (docs/configuration.md) and deployment manifests (tests compare them against this table).
 */
export interface VariableSpec<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly description: string;
  /** Never logged, never echoed in error messages. */
  readonly secret?: boolean;
}

const spec = <S extends z.ZodType>(schema: S, description: string, secret = false): VariableSpec<S> => ({
  schema,
  description,
  secret,
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const twilioSid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`);
const speakerMap = (keys: readonly string[]) =>
  z.string().transform((value, ctx) => {
    const map: Record<string, string> = {};
    for (const pair of value.split(',')) {
      const [key, speaker] = pair.split('=').map((part) => part.trim());
      if (!key || !speaker || !keys.includes(key) || !/^[a-z][a-z0-9-]*$/.test(speaker)) {
        ctx.addIssue({ code: 'custom', message: `expected ${keys.map((k) => `${k}=<speaker>`).join(',')}` });
        return z.NEVER;
      }
      map[key] = speaker;
    }
    if (keys.some((key) => map[key] === undefined)) {
      ctx.addIssue({ code: 'custom', message: `every one of ${keys.join(', ')} needs a speaker` });
      return z.NEVER;
    }
    return map;
  });

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const positiveInt = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

export const VARIABLES = {
  NATS_URL: spec(
    z
      .string()
      .regex(
        /^(nats|tls|wss?):\/\/[^\s,]+(,(nats|tls|wss?):\/\/[^\s,]+)*$/,
        'must be nats:// URL(s), comma-separated',
      )
      .default('nats://127.0.0.1:4222'),
    'NATS server URL(s), comma-separated for a cluster.',
  ),
  NATS_SUBJECT_PREFIX: spec(
    z
      .string()
      .regex(/^([A-Za-z0-9_-]+)?$/, 'must be empty or one subject token (letters, digits, _ and -)')
      .default(''),
    'Optional namespace put before every subject and stream name (isolates tenants or test runs). Empty in production.',
  ),
  NATS_STREAM_REPLICAS: spec(
    z.coerce.number().int().min(1).max(5).default(1),
    'JetStream replicas for every stream and key-value bucket the services create (3 on a 3-node production cluster); above 1, per-call media consumers keep their state in memory.',
  ),
  DATABASE_URL: spec(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
    'PostgreSQL connection URL.',
    true,
  ),
  S3_ENDPOINT: spec(httpUrl, 'S3/MinIO endpoint URL, e.g. http://minio:9000.'),
  S3_REGION: spec(z.string().min(1).default('us-east-1'), 'S3 region.'),
  S3_ACCESS_KEY: spec(z.string().min(1), 'S3 access key.', true),
  S3_SECRET_KEY: spec(z.string().min(1), 'S3 secret key.', true),
  S3_BUCKET: spec(
    z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
    'Bucket holding call audio and recordings.',
  ),
  TWILIO_ACCOUNT_SID: spec(twilioSid('AC'), 'Twilio Account SID (AC…).'),
  TWILIO_AUTH_TOKEN: spec(
    z.string().min(16, 'must be a Twilio auth token'),
    'Twilio auth token: validates webhook signatures and authenticates REST calls.',
    true,
  ),
  TWILIO_CALLER_ID: spec(
    z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number'),
    'Caller ID (E.164) shown to the technician.',
  ),
  TWILIO_API_BASE_URL: spec(
    httpUrl.default('https://api.twilio.com'),
    "Base URL of Twilio's REST API (the simulator's in local runs).",
  ),
  PUBLIC_BASE_URL: spec(
    httpUrl.transform((url) => url.replace(/\/+$/, '')),
    'Public base URL of the gateway as Twilio sees it (signatures are computed against it, not the Host header).',
  ),
  PORT: spec(
    z.coerce.number().int().min(0).max(65535).default(8080),
    'HTTP port (health, readiness, metrics; webhooks on the gateway).',
  ),
  LOG_LEVEL: spec(
    z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    'Log level.',
  ),
  LOG_FORMAT: spec(z.enum(['json', 'pretty']).default('json'), 'json for production, pretty for a terminal.'),
  WHISPER_MODEL_DIR: spec(
    z.string().min(1),
    'Directory holding a Whisper model in the onnx-community layout.',
  ),
  TRACK_SPEAKERS: spec(
    speakerMap(['inbound', 'outbound']).default({ inbound: 'agent', outbound: 'technician' }),
    'Media Stream track → speaker, e.g. inbound=agent,outbound=technician.',
  ),
  RECORDING_CHANNEL_SPEAKERS: spec(
    speakerMap(['1', '2']).default({ '1': 'agent', '2': 'technician' }),
    'Dual-channel recording channel → speaker, e.g. 1=agent,2=technician.',
  ),
  MEDIA_FLUSH_MS: spec(
    z.coerce.number().int().min(0).max(100).default(20),
    'Longest time (ms) the gateway holds received audio frames before publishing them as one message.',
  ),
  MEDIA_BUFFER_MAX_FRAMES: spec(
    z.coerce.number().int().min(100).default(150_000),
    'Frames the gateway buffers while NATS is unreachable; beyond it frames are counted as lost.',
  ),
  MEDIA_START_TIMEOUT_MS: spec(
    z.coerce.number().int().min(100).default(10_000),
    'Time (ms) a media-stream socket may stay open without sending `start` before the gateway closes it (1008). Twilio sends `start` at once.',
  ),
  MEDIA_MAX_SOCKETS: spec(
    z.coerce.number().int().min(1).default(2_000),
    'Most media-stream sockets one gateway holds open; further upgrades are refused with 503 and counted.',
  ),
  DEADLETTER_MAX_DELIVER: spec(
    z.coerce.number().int().min(2).default(50),
    'Deliveries of a lifecycle event (stream-ingest) or live final segment (transcriber) before one that keeps failing is moved to the DEADLETTER stream (about 20 min of backoff at 50). Invalid or permanently failing messages go there at once.',
  ),
  STREAM_IDLE_FINALIZE_MS: spec(
    z.coerce.number().int().min(1_000).default(60_000),
    'stream-ingest: a call whose media has been silent this long without a stream stop is finalized (its WAVs written).',
  ),
  INGEST_CLAIM_TTL_MS: spec(
    z.coerce.number().int().min(1_000).default(6_000),
    "stream-ingest: how long a replica's claim on a call outlives its last renewal, renewed every third of it. " +
      'After a crash the call is taken over (and its live transcripts resume) within about this plus ' +
      'INGEST_SWEEP_INTERVAL_MS. Shorter means faster takeover but a smaller tolerated stall: a replica that cannot ' +
      'renew for about 2/3 of it (GC pause, NATS outage) loses its calls to another replica, which carries them on ' +
      'from the stored audio. All replicas must use the same value: the bucket takes the last one opened.',
  ),
  INGEST_PART_FLUSH_MS: spec(
    z.coerce.number().int().min(100).default(5_000),
    'stream-ingest: longest time received frames are held before being stored as a part object (and acknowledged).',
  ),
  INGEST_SWEEP_INTERVAL_MS: spec(
    z.coerce.number().int().min(100).default(1_000),
    'stream-ingest: how often each replica looks for orphaned calls and calls ready to finalize.',
  ),
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
    'Time after which JetStream redelivers a callback whose fetcher went silent (a live fetcher extends it while working); also how long the lease a fetcher takes on a recording lasts unless renewed.',
  ),
  RECORDING_RECONCILE_AFTER_MS: spec(
    positiveInt(100, 600_000),
    'Time after a call ends before the fetcher asks Twilio for the recordings of a call whose recording it has not stored (a lost or refused callback); what Twilio lists is archived as its callback would have been.',
  ),
  RECORDING_RECONCILE_GIVE_UP_MS: spec(
    positiveInt(0, 3_600_000),
    'How long after RECORDING_RECONCILE_AFTER_MS the fetcher keeps asking (with backoff) while Twilio still lists the recording as processing, or not at all; then the call is recorded as recording-missing, counted and logged.',
  ),
  RECORDING_CONCURRENCY: spec(
    positiveInt(1, 1),
    'Recordings fetched at once by one replica; each adds about 35 MiB of memory at its peak, three upload buffers of which stay for reuse (scale replicas first).',
  ),
  TRANSCRIBER_CONCURRENCY: spec(
    positiveInt(1, 1),
    'Inferences one replica runs at once; each holds its own copy of the model in memory. Scale with replicas first.',
  ),
  TRANSCRIBER_THREADS: spec(
    positiveInt(0, 0),
    'ONNX Runtime threads inside one inference; 0 divides the CPUs between TRANSCRIBER_CONCURRENCY inferences.',
  ),
  WHISPER_QUANTIZED: spec(
    z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .transform((value) => value === 'true')
      .default(false),
    'Use the int8 graphs (onnx/*_quantized.onnx) of WHISPER_MODEL_DIR instead of fp32.',
  ),
  WHISPER_LANGUAGE: spec(
    z
      .string()
      .regex(/^([a-z]{2,3})?$/, 'must be empty or a Whisper language code such as en or de')
      .default(''),
    'Language of the calls; empty lets a multilingual model detect it per utterance (English-only models always use en).',
  ),
  PARTIAL_MAX_AGE_MS: spec(
    positiveInt(0, 3_000),
    'A partial whose audio ended longer ago than this is acknowledged without transcribing it (the transcriber is behind; its final follows).',
  ),
  TRANSCRIBER_ACK_WAIT_MS: spec(
    positiveInt(1_000, 15_000),
    'Time after which a segment or job held by a replica that went silent is redelivered to another (live replicas extend it while they work).',
  ),
  WHISPER_MODEL_RETRY_MS: spec(
    positiveInt(100, 30_000),
    'While the model cannot be loaded (missing or corrupt), the replica stays unready and tries again after this long.',
  ),
  TRANSCRIBER_LAG_POLL_MS: spec(
    positiveInt(100, 5_000),
    'How often consumer lag (pending messages per consumer) is read from JetStream into the metrics.',
  ),
  SHUTDOWN_GRACE_MS: spec(
    z.coerce.number().int().min(0).default(20_000),
    'Time to finish in-flight work on SIGTERM before forcing exit.',
  ),
} as const satisfies Record<string, VariableSpec>;

export type VariableName = keyof typeof VARIABLES;
export type VariableValue<N extends VariableName> = z.output<(typeof VARIABLES)[N]['schema']>;
