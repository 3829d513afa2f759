/** Applied in order by runMigrations; each id runs once per database schema. */
export const RECORDING_MIGRATIONS = [
  {
    id: '001-recordings',
    sql: `
      CREATE TABLE IF NOT EXISTS recordings (
        recording_sid text PRIMARY KEY CHECK (recording_sid ~ '^RE[0-9a-fA-F]{32}$'),
        call_sid text NOT NULL CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
        status text NOT NULL CHECK (status IN ('in-progress', 'completed', 'absent', 'failed', 'stored')),
        twilio_duration_seconds integer,
        channels smallint,
        sample_rate integer,
        duration_ms bigint,
        error_source text CHECK (error_source IN ('twilio', 'fetcher')),
        error_code text,
        error_message text,
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        stored_at timestamptz,
        events_published_at timestamptz,
        twilio_deleted_at timestamptz
      );
      CREATE INDEX IF NOT EXISTS recordings_call_sid_idx ON recordings (call_sid);

      CREATE TABLE IF NOT EXISTS recording_objects (
        recording_sid text NOT NULL REFERENCES recordings (recording_sid) ON DELETE CASCADE,
        role text NOT NULL,
        channel smallint CHECK (channel IN (1, 2)),
        object_key text NOT NULL,
        bytes bigint NOT NULL CHECK (bytes >= 0),
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        duration_ms bigint NOT NULL CHECK (duration_ms >= 0),
        PRIMARY KEY (recording_sid, role)
      );
    `,
  },
  {
    // Which delivery works on a recording, until when: exclusion kept in the row, not in a database session, so
    // it holds behind a transaction-mode pooler (PgBouncer) and on the embedded PGlite server alike.
    id: '002-recording-leases',
    sql: `
      ALTER TABLE recordings ADD COLUMN IF NOT EXISTS lease_owner text;
      ALTER TABLE recordings ADD COLUMN IF NOT EXISTS lease_until timestamptz;
    `,
  },
  {
    // Calls the fetcher learned have ended (from calls.v1.*.ended): each is checked against Twilio's recording
    // list once due, unless its recording was stored meanwhile. Replicas claim rows with a lease in the row.
    id: '003-recording-reconcile',
    sql: `
      CREATE TABLE IF NOT EXISTS recording_reconcile (
        call_sid text PRIMARY KEY CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
        ended_at timestamptz NOT NULL DEFAULT now(),
        due_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'waiting'
          CHECK (state IN ('waiting', 'stored', 'recovered', 'twilio-final', 'recording-missing')),
        checks integer NOT NULL DEFAULT 0,
        twilio_status text,
        lease_owner text,
        lease_until timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS recording_reconcile_due_idx ON recording_reconcile (due_at) WHERE state = 'waiting';
    `,
  },
  {
    // Settled rows are pruned by age (RECORDING_RECONCILE_KEEP_MS): find them without scanning the waiting ones.
    id: '004-recording-reconcile-prune',
    sql: `
      CREATE INDEX IF NOT EXISTS recording_reconcile_settled_idx ON recording_reconcile (updated_at)
        WHERE state <> 'waiting';
    `,
  },
  {
    // Spans of recording finals the transcriber redacted (AUDIO_REDACT), in recording time (ms from the first
    // sample of the recording's files). Only ever added: an object whose redactions_applied equals the count of
    // spans it covers holds every one of them (0 whenever it is stored anew).
    id: '005-recording-audio-redactions',
    sql: `
      CREATE TABLE IF NOT EXISTS recording_audio_redactions (
        recording_sid text NOT NULL CHECK (recording_sid ~ '^RE[0-9a-fA-F]{32}$'),
        speaker text NOT NULL,
        start_ms integer NOT NULL,
        end_ms integer NOT NULL,
        kind text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (recording_sid, speaker, start_ms, end_ms)
      );
      ALTER TABLE recording_objects ADD COLUMN IF NOT EXISTS redactions_applied integer NOT NULL DEFAULT 0;
    `,
  },
  {
    // Tombstones of erased calls (the CallSid only): a late callback or reconcile of the call is ignored.
    id: '006-erased-calls',
    sql: `CREATE TABLE IF NOT EXISTS fetcher_erased_calls (call_sid text PRIMARY KEY);`,
  },
] as const;

export const MIGRATIONS_TABLE = 'recording_fetcher_migrations';
