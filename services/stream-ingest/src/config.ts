import { z } from 'zod';
import { ConfigError, loadConfig, type Config, type VariableSpec } from '@calltx/shared';

export const INGEST_VARIABLES = [
  'NATS_URL',
  'NATS_SUBJECT_PREFIX',
  'DATABASE_URL',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'SHUTDOWN_GRACE_MS',
] as const;

const ms = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

/**
 * Variables only stream-ingest reads, in the shape of the shared VARIABLES table (to move there: the shared
 * table is owned elsewhere). Tests shorten them to exercise crash recovery and idle finalization quickly.
 */
export const INGEST_LOCAL_VARIABLES = {
  STREAM_IDLE_FINALIZE_MS: {
    schema: ms(1_000, 60_000),
    description:
      'A call whose media has been silent this long without a stream stop is finalized (its WAVs written).',
  },
  INGEST_CLAIM_TTL_MS: {
    schema: ms(1_000, 30_000),
    description:
      "How long a stream-ingest replica's claim on a call outlives its last renewal: the takeover delay after a crash.",
  },
  INGEST_PART_FLUSH_MS: {
    schema: ms(100, 5_000),
    description:
      'Longest time stream-ingest holds received frames before storing them as a part object (and acknowledging them).',
  },
  INGEST_SWEEP_INTERVAL_MS: {
    schema: ms(100, 2_000),
    description: 'How often each stream-ingest replica looks for orphaned calls and calls ready to finalize.',
  },
} as const satisfies Record<string, VariableSpec>;

type LocalName = keyof typeof INGEST_LOCAL_VARIABLES;
type LocalValues = { readonly [K in LocalName]: z.output<(typeof INGEST_LOCAL_VARIABLES)[K]['schema']> };

export type IngestConfig = Config<(typeof INGEST_VARIABLES)[number]> & LocalValues;

export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  const problems: string[] = [];
  let shared: Config<(typeof INGEST_VARIABLES)[number]> | undefined;
  try {
    shared = loadConfig(INGEST_VARIABLES, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const local: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(INGEST_LOCAL_VARIABLES)) {
    const raw = env[name];
    const result = spec.schema.safeParse(raw === '' ? undefined : raw);
    if (result.success) local[name] = result.data;
    else problems.push(`${name} ${result.error.issues.map((issue) => issue.message).join(', ')}`);
  }
  if (problems.length > 0 || !shared) throw new ConfigError(problems);
  const config = { ...shared, ...(local as LocalValues) };
  if (config.INGEST_PART_FLUSH_MS * 4 > config.STREAM_IDLE_FINALIZE_MS) {
    throw new ConfigError(['STREAM_IDLE_FINALIZE_MS must be at least 4 × INGEST_PART_FLUSH_MS']);
  }
  return config;
}
