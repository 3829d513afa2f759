import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type FetcherMetrics = ReturnType<typeof createFetcherMetrics>;

export function createFetcherMetrics(registry: Registry) {
  const registers = [registry];
  return {
    outcomes: new Counter({
      name: 'calltx_recording_fetcher_recordings_total',
      help: 'Recordings by final outcome: stored, failed (by the fetcher), absent or twilio-failed (reported by Twilio).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    attempts: new Counter({
      name: 'calltx_recording_fetcher_download_attempts_total',
      help: 'Download attempts by result: ok, or the failure code (not-ready, server-error, timeout, truncated, ...).',
      labelNames: ['result'] as const,
      registers,
    }),
    bytes: new Counter({
      name: 'calltx_recording_fetcher_stored_bytes_total',
      help: 'Bytes stored, by object role (dual, or the speaker of a channel).',
      labelNames: ['role'] as const,
      registers,
    }),
    archiveSeconds: new Histogram({
      name: 'calltx_recording_fetcher_archive_seconds',
      help: 'Time to download, verify, split and store one recording (successful attempts).',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    reconciled: new Counter({
      name: 'calltx_recording_fetcher_reconciled_calls_total',
      help: 'Ended calls checked against Twilio by outcome: stored (by its callback), recovered (archived from the list), twilio-final (absent or failed), recording-missing (never completed in time).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    reconcilePruned: new Counter({
      name: 'calltx_recording_fetcher_reconcile_pruned_total',
      help: 'Settled rows of recording_reconcile deleted once older than RECORDING_RECONCILE_KEEP_MS.',
      registers,
    }),
    redactedObjects: new Counter({
      name: 'calltx_recording_fetcher_redacted_objects_total',
      help: 'Stored recording objects rewritten with redacted spans covered (AUDIO_REDACT), by role.',
      labelNames: ['role'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: 'calltx_recording_fetcher_in_flight',
      help: 'Recordings being fetched now.',
      registers,
    }),
  };
}
