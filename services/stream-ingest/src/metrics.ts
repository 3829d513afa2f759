import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** Why a frame was not stored. */
export type RejectReason =
  | 'invalid-message'
  | 'unknown-track'
  | 'invalid-base64'
  | 'payload-length'
  | 'timestamp-out-of-range'
  | 'call-finished';

export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    framesStored: new Counter({
      name: 'calltx_ingest_frames_stored_total',
      help: 'Frames spooled to a part object and acknowledged (a frame redelivered after a crash counts again).',
      labelNames: ['speaker'] as const,
      registers,
    }),
    rejectedFrames: new Counter({
      name: 'calltx_ingest_rejected_frames_total',
      help: 'Frames dropped, by reason (whole messages where their frames cannot be read: invalid-message, unknown-track).',
      labelNames: ['reason'] as const,
      registers,
    }),
    gapFilledMs: new Counter({
      name: 'calltx_ingest_gap_filled_ms_total',
      help: 'Milliseconds of silence written into finalized WAVs where frames were missing (per speaker, at 8 kHz).',
      labelNames: ['speaker'] as const,
      registers,
    }),
    activeCalls: new Gauge({
      name: 'calltx_ingest_active_calls',
      help: 'Calls this replica owns (claimed and consuming).',
      registers,
    }),
    partsWritten: new Counter({
      name: 'calltx_ingest_parts_written_total',
      help: 'Part objects stored.',
      registers,
    }),
    partSeconds: new Histogram({
      name: 'calltx_ingest_part_store_seconds',
      help: 'Time to store one part object.',
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    finalizeSeconds: new Histogram({
      name: 'calltx_ingest_finalize_seconds',
      help: 'Time to merge the parts of a call and store its WAVs.',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 180],
      registers,
    }),
    finalized: new Counter({
      name: 'calltx_ingest_calls_finalized_total',
      help: 'Calls whose WAVs were stored, by trigger (stopped, ended, idle).',
      labelNames: ['trigger'] as const,
      registers,
    }),
    speechSegments: new Counter({
      name: 'calltx_ingest_speech_segments_total',
      help: 'Live speech segments for the transcriber, by kind and outcome (published, dropped: partial while behind, failed).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    framesUnreadable: new Counter({
      name: 'calltx_ingest_unreadable_part_frames_total',
      help: 'Frames left out of finalized WAVs because their part object could not be read (the span its name gives); set aside for recovery.',
      labelNames: ['speaker'] as const,
      registers,
    }),
    framesAbandoned: new Counter({
      name: 'calltx_ingest_abandoned_part_frames_total',
      help: 'Frames of set-aside part objects still unreadable after INGEST_PART_RECOVERY_GIVE_UP_MS: no longer retried, left for an operator.',
      labelNames: ['speaker'] as const,
      registers,
    }),
    framesRecovered: new Counter({
      name: 'calltx_ingest_recovered_part_frames_total',
      help: 'Frames of set-aside part objects that became readable and were written into the WAVs afterwards.',
      labelNames: ['speaker'] as const,
      registers,
    }),
    redactedFiles: new Counter({
      name: 'calltx_ingest_redacted_files_total',
      help: 'Stream WAVs rewritten with redacted spans covered (AUDIO_REDACT), by sample rate.',
      labelNames: ['sample_rate'] as const,
      registers,
    }),
    liveFinalsReissued: new Counter({
      name: 'calltx_ingest_live_finals_reissued_total',
      help: 'Live finals published again by the live-finals audit: no live transcript final of theirs was in TRANSCRIPTS (lost by JetStream after its acknowledgement, or the transcriber behind).',
      registers,
    }),
    liveFinalsMissing: new Counter({
      name: 'calltx_ingest_live_finals_missing_total',
      help: 'Live finals still without a live transcript final when the audit gave up (LIVE_FINALS_AUDIT_GIVE_UP_MS).',
      registers,
    }),
    claimsLost: new Counter({
      name: 'calltx_ingest_claims_lost_total',
      help: 'Calls this replica stopped processing because its claim lapsed.',
      registers,
    }),
  };
}
