import { z } from 'zod';
import { AUDIO_REDACTION_VARIABLES, ConfigError, loadConfig, variable, type Config } from '@calltx/config';
import { DATABASE_VARIABLES } from '@calltx/db';
import { DEAD_LETTER_VARIABLES, NATS_VARIABLES } from '@calltx/nats';
import { RUNTIME_VARIABLES } from '@calltx/runtime';
import { STORAGE_VARIABLES } from '@calltx/storage';

export const INGEST_VARIABLES = {
  ...NATS_VARIABLES,
  ...DATABASE_VARIABLES,
  ...STORAGE_VARIABLES,
  ...RUNTIME_VARIABLES,
  ...DEAD_LETTER_VARIABLES,
  ...AUDIO_REDACTION_VARIABLES,
  STREAM_IDLE_FINALIZE_MS: variable(
    z.coerce.number().int().min(1_000).default(60_000),
    'stream-ingest: a call whose media has been silent this long without a stream stop is finalized (its WAVs written).',
  ),
  INGEST_CLAIM_TTL_MS: variable(
    z.coerce.number().int().min(1_000).default(6_000),
    "stream-ingest: how long a replica's claim on a call outlives its last renewal, renewed every third of it. " +
      'After a crash the call is taken over (and its live transcripts resume) within about this plus ' +
      'INGEST_SWEEP_INTERVAL_MS. Shorter means faster takeover but a smaller tolerated stall: a replica that cannot ' +
      'renew for about 2/3 of it (GC pause, NATS outage) loses its calls to another replica, which carries them on ' +
      'from the stored audio. All replicas must use the same value: the bucket takes the last one opened.',
  ),
  INGEST_PART_FLUSH_MS: variable(
    z.coerce.number().int().min(100).default(5_000),
    'stream-ingest: longest time received frames are held before being stored as a part object (and acknowledged).',
  ),
  INGEST_SWEEP_INTERVAL_MS: variable(
    z.coerce.number().int().min(100).default(1_000),
    'stream-ingest: how often each replica looks for orphaned calls and calls ready to finalize.',
  ),
  INGEST_PART_RECOVERY_GIVE_UP_MS: variable(
    z.coerce
      .number()
      .int()
      .min(1_000)
      .default(7 * 24 * 3_600_000),
    'stream-ingest: how long a part object set aside as unreadable is retried (every minute) before the sweep gives ' +
      "up on it, counted and warned of; its aside object and the call's parts stay for an operator (docs/reliability.md).",
  ),
  LIVE_FINALS_AUDIT_AFTER_MS: variable(
    z.coerce.number().int().min(0).default(60_000),
    "stream-ingest: how long after a call's WAVs are stored its live finals are audited: each one published " +
      'without a live transcript final in TRANSCRIPTS (JetStream can lose acknowledged messages) is cut again from ' +
      'the stored audio and published again; while any is missing the call is checked again after 1×, 2×, 4×… this ' +
      '(at most 5 min apart). 0 turns the audit off: calls stored meanwhile are never audited (docs/reliability.md).',
  ),
  LIVE_FINALS_AUDIT_GIVE_UP_MS: variable(
    z.coerce
      .number()
      .int()
      .min(1_000)
      .default(30 * 60_000),
    "stream-ingest: how long after a call's WAVs are stored the live-finals audit stops reissuing finals still " +
      'missing; they are then counted (calltx_ingest_live_finals_missing_total) and warned of.',
  ),
};

export type IngestConfig = Config<typeof INGEST_VARIABLES>;

export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  const config = loadConfig(INGEST_VARIABLES, env);
  // Idle finalization must not overtake frames still waiting to be spooled.
  if (config.INGEST_PART_FLUSH_MS * 4 > config.STREAM_IDLE_FINALIZE_MS) {
    throw new ConfigError(['STREAM_IDLE_FINALIZE_MS must be at least 4 × INGEST_PART_FLUSH_MS']);
  }
  return config;
}
