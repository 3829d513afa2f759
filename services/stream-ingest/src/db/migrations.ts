/** Applied in order, once each (recorded in MIGRATIONS_TABLE); every statement is also safe to run again. */
export const MIGRATIONS_TABLE = 'stream_ingest_migrations';

export const MIGRATIONS = [
  {
    id: '001-calls-and-stream-files',
    sql: `
      CREATE TABLE IF NOT EXISTS calls (
        call_sid            text PRIMARY KEY,
        account_sid         text,
        direction           text,
        -- Personal data (Twilio Client identity of the agent, technician's number): never logged.
        agent_party         text,
        technician_party    text,
        started_at          timestamptz,
        stream_sid          text,
        stream_started_at   timestamptz,
        tracks              text[],
        -- Track → speaker role, e.g. {"inbound": "agent", "outbound": "technician"}.
        speakers            jsonb,
        stream_stopped_at   timestamptz,
        stop_reason         text,
        frames_received     jsonb,
        frames_lost         jsonb,
        -- Frames JetStream holds per track (received − lost).
        frames_expected     jsonb,
        last_timestamp_ms   jsonb,
        ended_at            timestamptz,
        call_status         text,
        -- none: no media stream yet; active: streaming or awaiting finalize; stored: WAVs written;
        -- finalized: audio-stored published and parts removed.
        ingest_state        text NOT NULL DEFAULT 'none' CHECK (ingest_state IN ('none', 'active', 'stored', 'finalized')),
        finalize_trigger    text,
        duration_ms         integer,
        gap_filled_ms       jsonb,
        stored_at           timestamptz,
        finalized_at        timestamptz,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS calls_open_idx ON calls (ingest_state) WHERE ingest_state IN ('active', 'stored');

      CREATE TABLE IF NOT EXISTS call_stream_files (
        call_sid        text NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
        speaker         text NOT NULL,
        sample_rate     integer NOT NULL CHECK (sample_rate IN (8000, 16000)),
        object_key      text NOT NULL,
        bytes           bigint NOT NULL,
        duration_ms     integer NOT NULL,
        sha256          text NOT NULL,
        gap_filled_ms   integer NOT NULL,
        frames          integer NOT NULL,
        stored_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (call_sid, speaker, sample_rate)
      );
    `,
  },
  {
    id: '002-call-live-progress',
    sql: `
      -- Per call and speaker, the last live final published: a new owner resumes the live path from its end and
      -- numbers the next utterance after it.
      CREATE TABLE IF NOT EXISTS call_live_progress (
        call_sid        text NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
        speaker         text NOT NULL,
        final_sequence  integer NOT NULL,
        final_end_ms    double precision NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (call_sid, speaker)
      );
    `,
  },
  {
    id: '003-call-unreadable-parts',
    sql: `
      -- Part objects finalize could not read, moved from part_key to aside_key; recovered_at once a later pass
      -- found one readable and wrote its frames into the WAVs.
      CREATE TABLE IF NOT EXISTS call_unreadable_parts (
        call_sid      text NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
        part_key      text NOT NULL,
        speaker       text NOT NULL,
        aside_key     text NOT NULL,
        frames        integer NOT NULL,
        set_aside_at  timestamptz NOT NULL DEFAULT now(),
        recovered_at  timestamptz,
        PRIMARY KEY (call_sid, part_key)
      );
      CREATE INDEX IF NOT EXISTS call_unreadable_parts_pending_idx ON call_unreadable_parts (call_sid)
        WHERE recovered_at IS NULL;
    `,
  },
  {
    id: '004-call-media-consumer-generation',
    sql: `
      -- Each owner of a call consumes MEDIA through a consumer of its own generation (ingest_<CallSid>_<n>), so a
      -- consumer name is never deleted and created again (NATS 2.9 restores such a consumer stale after a restart).
      ALTER TABLE calls ADD COLUMN IF NOT EXISTS media_consumer_generation integer NOT NULL DEFAULT 0;
    `,
  },
  {
    id: '005-call-party-numbers',
    sql: `
      -- A party that is a phone number as the gateway publishes it: a keyed hash and its last two digits; its
      -- agent_party / technician_party is then NULL (docs/privacy.md).
      ALTER TABLE calls
        ADD COLUMN IF NOT EXISTS agent_number_hash       text,
        ADD COLUMN IF NOT EXISTS agent_number_last2      text,
        ADD COLUMN IF NOT EXISTS technician_number_hash  text,
        ADD COLUMN IF NOT EXISTS technician_number_last2 text;
    `,
  },
  {
    id: '006-unreadable-part-abandoned',
    sql: `
      -- A set-aside part still unreadable after INGEST_PART_RECOVERY_GIVE_UP_MS is no longer retried: the sweep
      -- gives up on it (abandoned_at), leaving its aside object and the call's parts for an operator.
      ALTER TABLE call_unreadable_parts ADD COLUMN IF NOT EXISTS abandoned_at timestamptz;
    `,
  },
  {
    id: '007-stream-audio-redactions',
    sql: `
      -- Spans of live finals the transcriber redacted (AUDIO_REDACT), in call time (the stream WAVs' time base).
      -- Only ever added: a file whose redactions_applied equals its speaker's count holds every one of them.
      CREATE TABLE IF NOT EXISTS call_audio_redactions (
        call_sid     text NOT NULL,
        speaker      text NOT NULL,
        start_ms     integer NOT NULL,
        end_ms       integer NOT NULL,
        kind         text NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (call_sid, speaker, start_ms, end_ms)
      );
      -- Spans of the speaker covered in the stored content (0 whenever it is written anew from the parts).
      ALTER TABLE call_stream_files ADD COLUMN IF NOT EXISTS redactions_applied integer NOT NULL DEFAULT 0;
    `,
  },
  {
    id: '008-erased-calls',
    sql: `
      -- Tombstones of erased calls (the CallSid only): later events of the call are ignored.
      CREATE TABLE IF NOT EXISTS ingest_erased_calls (call_sid text PRIMARY KEY);
    `,
  },
  {
    id: '009-live-finals-audit',
    sql: `
      -- Every live final JetStream acknowledged (call_live_progress keeps only the last): the audit checks each has
      -- a live transcript final. path_start_ms: where the live path that cut it started, on its VAD window grid.
      CREATE TABLE IF NOT EXISTS call_live_finals (
        call_sid       text NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
        speaker        text NOT NULL,
        sequence       integer NOT NULL,
        start_ms       double precision NOT NULL,
        end_ms         double precision NOT NULL,
        path_start_ms  double precision NOT NULL,
        published_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (call_sid, speaker, sequence)
      );
      -- One audit per call, scheduled when its WAVs are stored; claimed by any replica's sweep under a lease
      -- (lease_owner, lease_until) kept here, so that no session state is needed and a dead replica's lease lapses.
      CREATE TABLE IF NOT EXISTS call_live_finals_audits (
        call_sid     text PRIMARY KEY REFERENCES calls (call_sid) ON DELETE CASCADE,
        due_at       timestamptz NOT NULL,
        give_up_at   timestamptz NOT NULL,
        attempts     integer NOT NULL DEFAULT 0,
        lease_owner  text,
        lease_until  timestamptz,
        -- complete: every final transcribed; gave-up: some still missing at give_up_at.
        outcome      text CHECK (outcome IN ('complete', 'gave-up')),
        done_at      timestamptz
      );
      CREATE INDEX IF NOT EXISTS call_live_finals_audits_due_idx ON call_live_finals_audits (due_at)
        WHERE done_at IS NULL;
    `,
  },
] as const;
