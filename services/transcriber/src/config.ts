import { availableParallelism } from 'node:os';
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
  'WHISPER_MODEL_DIR',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
] as const;

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const spec = <S extends z.ZodType>(schema: S, description: string): VariableSpec<S> => ({
  schema,
  description,
});

/**
 * Variables only the transcriber reads, in the shape of @calltx/shared's VARIABLES table (they belong there;
 * until then this service validates them itself, with the same rules and error reporting).
 */
export const TRANSCRIBER_VARIABLES = {
  TRANSCRIBER_CONCURRENCY: spec(
    int(1, 1),
    'Inferences one replica runs at once; each holds its own copy of the model in memory. Scale with replicas first.',
  ),
  TRANSCRIBER_THREADS: spec(
    int(0, 0),
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
    int(0, 3_000),
    'A partial whose audio ended longer ago than this is acknowledged without transcribing it (the transcriber is behind; its final follows).',
  ),
  TRANSCRIBER_ACK_WAIT_MS: spec(
    int(1_000, 15_000),
    'Time after which a segment or job held by a replica that went silent is redelivered to another (live replicas extend it while they work).',
  ),
  WHISPER_MODEL_RETRY_MS: spec(
    int(100, 30_000),
    'While the model cannot be loaded (missing or corrupt), the replica stays unready and tries again after this long.',
  ),
  TRANSCRIBER_LAG_POLL_MS: spec(
    int(100, 5_000),
    'How often consumer lag (pending messages per consumer) is read from JetStream into the metrics.',
  ),
} as const satisfies Record<string, VariableSpec>;

type LocalVariables = {
  readonly [K in keyof typeof TRANSCRIBER_VARIABLES]: z.output<(typeof TRANSCRIBER_VARIABLES)[K]['schema']>;
};

export type TranscriberConfig = Config<(typeof SHARED_VARIABLES)[number]> & LocalVariables;

/** Reads and validates every variable the service needs; all problems (shared and local) in one ConfigError. */
export function loadTranscriberConfig(
  env: Record<string, string | undefined> = process.env,
): TranscriberConfig {
  const problems: string[] = [];
  let shared: Config<(typeof SHARED_VARIABLES)[number]> | undefined;
  try {
    shared = loadConfig(SHARED_VARIABLES, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const local: Record<string, unknown> = {};
  for (const [name, { schema }] of Object.entries(TRANSCRIBER_VARIABLES)) {
    const raw = env[name];
    const result = (schema as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (result.success) local[name] = result.data;
    else problems.push(`${name} ${result.error.issues.map((i) => i.message).join(', ')}`);
  }
  if (problems.length > 0 || !shared) throw new ConfigError(problems);
  return { ...shared, ...(local as LocalVariables) };
}

/** Threads per inference: as configured, or the machine's CPUs shared between the concurrent inferences. */
export function threadsPerInference(
  config: Pick<TranscriberConfig, 'TRANSCRIBER_THREADS' | 'TRANSCRIBER_CONCURRENCY'>,
): number {
  if (config.TRANSCRIBER_THREADS > 0) return config.TRANSCRIBER_THREADS;
  return Math.max(1, Math.floor(availableParallelism() / config.TRANSCRIBER_CONCURRENCY));
}
