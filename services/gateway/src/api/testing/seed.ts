import type { Pool } from '@calltx/db';

/**
 * Rows as the owning services write them (same tables, same columns), for the API to read. Only the columns the
 * API reads are set; the rest keep their defaults.
 */

export interface SeedCall {
  callSid: string;
  startedAt: string;
  endedAt?: string | null;
  status?: string | null;
  agent?: string;
  technician?: string;
  durationMs?: number | null;
  streamStoppedAt?: string | null;
}

export async function seedCall(pool: Pool, call: SeedCall): Promise<void> {
  await pool.query(
    `INSERT INTO calls (call_sid, account_sid, direction, agent_party, technician_party, started_at, ended_at, call_status,
                        duration_ms, stream_stopped_at, ingest_state)
     VALUES ($1, $2, 'inbound', $3, $4, $5, $6, $7, $8, $9, 'finalized')`,
    [
      call.callSid,
      `AC${'1'.repeat(32)}`,
      call.agent ?? 'client:alice',
      call.technician ?? '+15550100000',
      call.startedAt,
      call.endedAt ?? null,
      call.status ?? null,
      call.durationMs ?? null,
      call.streamStoppedAt ?? null,
    ],
  );
}

export async function seedSegment(
  pool: Pool,
  s: {
    callSid: string;
    speaker: string;
    source: 'live' | 'recording';
    sequence: number;
    startMs: number;
    text: string;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO transcript_segments (call_sid, speaker, segment_id, source, sequence, start_ms, end_ms, text, model_id,
                                      audio_end_at, inference_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'whisper-tiny.en', now(), 120)`,
    [
      s.callSid,
      s.speaker,
      `${s.source}-${s.speaker}-${s.sequence}`,
      s.source,
      s.sequence,
      s.startMs,
      s.startMs + 1500,
      s.text,
    ],
  );
}

export async function seedRecording(
  pool: Pool,
  r: {
    recordingSid: string;
    callSid: string;
    status: 'in-progress' | 'completed' | 'absent' | 'failed' | 'stored';
    durationMs?: number;
    error?: { source: 'twilio' | 'fetcher'; code: string; message?: string };
    objects?: Array<{ role: string; channel: 1 | 2 | null; key: string; bytes: number; durationMs: number }>;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO recordings (recording_sid, call_sid, status, channels, duration_ms, error_source, error_code, error_message,
                             stored_at)
     VALUES ($1, $2, $3, 2, $4, $5, $6, $7, CASE WHEN $3 = 'stored' THEN now() END)`,
    [
      r.recordingSid,
      r.callSid,
      r.status,
      r.durationMs ?? null,
      r.error?.source ?? null,
      r.error?.code ?? null,
      r.error?.message ?? null,
    ],
  );
  for (const o of r.objects ?? []) {
    await pool.query(
      `INSERT INTO recording_objects (recording_sid, role, channel, object_key, bytes, sha256, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [r.recordingSid, o.role, o.channel, o.key, o.bytes, '0'.repeat(64), o.durationMs],
    );
  }
}

export async function seedStreamFile(
  pool: Pool,
  f: { callSid: string; speaker: string; key: string; bytes: number; durationMs: number },
): Promise<void> {
  for (const sampleRate of [8000, 16000]) {
    await pool.query(
      `INSERT INTO call_stream_files (call_sid, speaker, sample_rate, object_key, bytes, duration_ms, sha256, gap_filled_ms, frames)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 40, 100)`,
      [
        f.callSid,
        f.speaker,
        sampleRate,
        sampleRate === 8000 ? f.key : `${f.key}.16k`,
        f.bytes,
        f.durationMs,
        '0'.repeat(64),
      ],
    );
  }
}
