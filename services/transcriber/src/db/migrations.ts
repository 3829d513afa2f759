import type { Migration } from '@calltx/db';

/** Applied in order by runMigrations; each id runs once per database schema. */
export const TRANSCRIBER_MIGRATIONS: readonly Migration[] = [
  {
    id: '001-transcript-segments',
    sql: `
      CREATE TABLE IF NOT EXISTS transcript_segments (
        call_sid text NOT NULL CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
        speaker text NOT NULL,
        segment_id text NOT NULL,
        source text NOT NULL CHECK (source IN ('live', 'recording')),
        sequence integer NOT NULL CHECK (sequence >= 0),
        start_ms bigint NOT NULL CHECK (start_ms >= 0),
        end_ms bigint NOT NULL CHECK (end_ms >= start_ms),
        text text NOT NULL,
        model_id text NOT NULL,
        audio_end_at timestamptz NOT NULL,
        inference_ms integer NOT NULL CHECK (inference_ms >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (call_sid, speaker, segment_id, source)
      );
      CREATE INDEX IF NOT EXISTS transcript_segments_call_idx
        ON transcript_segments (call_sid, speaker, source, sequence);
    `,
  },
  {
    // What a final says besides its text (transcripts.v1 0.2.0); null on rows stored before.
    id: '002-transcript-detail',
    sql: `
      ALTER TABLE transcript_segments
        ADD COLUMN IF NOT EXISTS language text,
        ADD COLUMN IF NOT EXISTS avg_logprob double precision,
        ADD COLUMN IF NOT EXISTS no_speech_prob double precision,
        ADD COLUMN IF NOT EXISTS segments jsonb,
        ADD COLUMN IF NOT EXISTS words jsonb;
    `,
  },
  {
    // The spans TRANSCRIPT_REDACT replaced (null on rows stored with redaction off or before it existed).
    id: '003-transcript-redactions',
    sql: `ALTER TABLE transcript_segments ADD COLUMN IF NOT EXISTS redactions jsonb;`,
  },
  {
    // Each call's transcription settings, from its call.started event (calls.v1): this service's own copy.
    id: '004-call-settings',
    sql: `
      CREATE TABLE IF NOT EXISTS call_settings (
        call_sid text PRIMARY KEY CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
        language text,
        hints text,
        started_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: '005-erased-calls',
    sql: `
      -- Tombstones of erased calls (the CallSid only): work for the call arriving later is dropped.
      CREATE TABLE IF NOT EXISTS transcriber_erased_calls (call_sid text PRIMARY KEY);
    `,
  },
];

export const MIGRATIONS_TABLE = 'transcriber_migrations';
