import type { Migration } from '@calltx/db';

/**
 * The api's read model: its own tables, filled only from the public events (calls.v1, recordings.v1,
 * transcripts.v1). Every table is prefixed `api_`, so `pnpm api:rebuild` can drop exactly these. Times that order
 * rows come from the events (`first_event_at`), never from now(), so a rebuild orders them as before.
 */
export const API_MIGRATIONS: readonly Migration[] = [
  {
    id: '001-read-model',
    sql: `
      CREATE TABLE IF NOT EXISTS api_calls (
        call_sid            text PRIMARY KEY,
        -- Personal data (Twilio Client identity of the agent, technician's number): never logged.
        agent_party         text,
        technician_party    text,
        started_at          timestamptz,
        stream_started_at   timestamptz,
        stream_stopped_at   timestamptz,
        ended_at            timestamptz,
        call_status         text,
        duration_ms         integer,
        audio_stored_at     timestamptz,
        first_event_at      timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS api_calls_started_idx
        ON api_calls ((COALESCE(started_at, stream_started_at, first_event_at)) DESC, call_sid DESC);

      CREATE TABLE IF NOT EXISTS api_call_stream_files (
        call_sid        text NOT NULL,
        speaker         text NOT NULL,
        sample_rate     integer NOT NULL,
        object_key      text NOT NULL,
        bytes           bigint NOT NULL,
        duration_ms     integer NOT NULL,
        gap_filled_ms   integer NOT NULL,
        PRIMARY KEY (call_sid, speaker, sample_rate)
      );

      CREATE TABLE IF NOT EXISTS api_recordings (
        recording_sid           text PRIMARY KEY,
        call_sid                text NOT NULL,
        status                  text NOT NULL,
        twilio_duration_seconds integer,
        channels                smallint,
        duration_ms             bigint,
        error_source            text,
        error_code              text,
        error_message           text,
        stored_at               timestamptz,
        first_event_at          timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS api_recordings_call_idx ON api_recordings (call_sid, first_event_at);

      CREATE TABLE IF NOT EXISTS api_recording_objects (
        recording_sid   text NOT NULL,
        role            text NOT NULL,
        channel         smallint,
        object_key      text NOT NULL,
        bytes           bigint NOT NULL,
        duration_ms     bigint NOT NULL,
        PRIMARY KEY (recording_sid, role)
      );

      CREATE TABLE IF NOT EXISTS api_transcript_segments (
        call_sid    text NOT NULL,
        speaker     text NOT NULL,
        segment_id  text NOT NULL,
        source      text NOT NULL,
        sequence    integer NOT NULL,
        start_ms    bigint NOT NULL,
        end_ms      bigint NOT NULL,
        text        text NOT NULL,
        model_id    text NOT NULL,
        PRIMARY KEY (call_sid, speaker, segment_id, source)
      );
    `,
  },
  {
    // What finals carry since transcripts.v1 grew them (absent on older finals), and full-text search: each
    // utterance is indexed in the text search configuration of its language (read-model/search-config.ts),
    // 'simple' (no stemming) when the language is unknown or Postgres has no configuration for it.
    id: '002-transcript-detail-and-search',
    sql: `
      ALTER TABLE api_transcript_segments
        ADD COLUMN IF NOT EXISTS language         text,
        ADD COLUMN IF NOT EXISTS avg_logprob      float8,
        ADD COLUMN IF NOT EXISTS no_speech_prob   float8,
        ADD COLUMN IF NOT EXISTS whisper_segments jsonb,
        ADD COLUMN IF NOT EXISTS words            jsonb,
        ADD COLUMN IF NOT EXISTS search_config    regconfig NOT NULL DEFAULT 'simple',
        ADD COLUMN IF NOT EXISTS search           tsvector
          GENERATED ALWAYS AS (to_tsvector(search_config, text)) STORED;
      CREATE INDEX IF NOT EXISTS api_transcript_segments_search_idx
        ON api_transcript_segments USING gin (search);
    `,
  },
  {
    // The audit trail (api/audit): who read which call's data, when, from where, with what result. Not derived
    // from events, so not part of READ_MODEL_TABLES: a rebuild keeps it and re-runs this (idempotent) migration.
    // Append-only: the service only INSERTs, and Postgres refuses UPDATE, DELETE and TRUNCATE. No transcript
    // text and no phone numbers go in here (a search records which filters it used, never their values).
    id: '003-audit',
    sql: `
      CREATE TABLE IF NOT EXISTS api_audit (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor       text NOT NULL,
        actor_kind  text NOT NULL,
        action      text NOT NULL,
        call_sid    text,
        detail      jsonb NOT NULL DEFAULT '{}',
        client_ip   text,
        result      text NOT NULL,
        status      smallint NOT NULL
      );
      CREATE INDEX IF NOT EXISTS api_audit_call_idx ON api_audit (call_sid, id);
      CREATE INDEX IF NOT EXISTS api_audit_actor_idx ON api_audit (actor, id);
      CREATE INDEX IF NOT EXISTS api_audit_at_idx ON api_audit (at);

      CREATE OR REPLACE FUNCTION api_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'api_audit is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$;
      DROP TRIGGER IF EXISTS api_audit_append_only ON api_audit;
      CREATE TRIGGER api_audit_append_only BEFORE UPDATE OR DELETE ON api_audit
        FOR EACH ROW EXECUTE FUNCTION api_audit_refuse_change();
      DROP TRIGGER IF EXISTS api_audit_no_truncate ON api_audit;
      CREATE TRIGGER api_audit_no_truncate BEFORE TRUNCATE ON api_audit
        FOR EACH STATEMENT EXECUTE FUNCTION api_audit_refuse_change();
    `,
  },
  {
    // A party that is a phone number as call.started.v1 carries it since @calltx/events 0.4.0: a keyed hash and
    // its last two digits; agent_party / technician_party is then NULL (docs/privacy.md).
    id: '004-call-party-numbers',
    sql: `
      ALTER TABLE api_calls
        ADD COLUMN IF NOT EXISTS agent_number_hash       text,
        ADD COLUMN IF NOT EXISTS agent_number_last2      text,
        ADD COLUMN IF NOT EXISTS technician_number_hash  text,
        ADD COLUMN IF NOT EXISTS technician_number_last2 text;
      CREATE INDEX IF NOT EXISTS api_calls_technician_number_idx ON api_calls (technician_number_hash);
    `,
  },
  {
    // Erasures asked for (DELETE /calls/{callSid}, RETENTION_DAYS): the state of each is its row, never a
    // session. Kept after the call is erased as its tombstone (the CallSid only): the projector drops later events
    // of the call. Not a projection of events: a rebuild keeps it.
    id: '005-erasures',
    sql: `
      CREATE TABLE IF NOT EXISTS api_erasures (
        call_sid      text PRIMARY KEY CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
        requested_at  timestamptz NOT NULL DEFAULT now(),
        -- API key name or token subject, or 'retention'.
        actor         text NOT NULL,
        state         text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'purged', 'erased')),
        confirmed     text[] NOT NULL DEFAULT '{}',
        -- Requests published so far: the Nats-Msg-Id of each is the CallSid and this number.
        attempts      integer NOT NULL DEFAULT 0,
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS api_erasures_unfinished_idx ON api_erasures (updated_at) WHERE state <> 'erased';
    `,
  },
];

export const MIGRATIONS_TABLE = 'api_migrations';

/**
 * Every table of the read model, the migrations' record included: what a rebuild drops. Not api_audit: the audit
 * trail is a record of reads, not a projection of events, and a rebuild must never lose it.
 */
export const READ_MODEL_TABLES = [
  'api_calls',
  'api_call_stream_files',
  'api_recordings',
  'api_recording_objects',
  'api_transcript_segments',
  MIGRATIONS_TABLE,
] as const;
