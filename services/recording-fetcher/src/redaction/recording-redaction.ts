import { redactStoredWav, type RedactionFill, type RedactionSpan } from '@calltx/audio';
import { InvalidMessageError, type TranscriptEvent } from '@calltx/events';
import type { Logger } from '@calltx/runtime';
import type { ObjectStore } from '@calltx/storage';
import { RecordingLease } from '../db/recording-lease.js';
import type { RecordingsRepository } from '../db/recordings-repository.js';
import { RecordingBusyError, RecordingLeaseLostError, ShuttingDownError } from '../errors.js';
import type { FetcherMetrics } from '../metrics.js';

/** AUDIO_REDACT on: what covers a redacted span. */
export interface AudioRedaction {
  fill: RedactionFill;
}

export interface RecordingRedactionDeps {
  store: ObjectStore;
  repository: RecordingsRepository;
  metrics: FetcherMetrics;
  logger: Logger;
  audioRedaction: AudioRedaction;
}

const RECORDING_SID = /^RE[0-9a-fA-F]{32}$/;

/**
 * Covers, in each stored object of the recording, every span it does not hold yet, and records the new size and
 * hash; then looks again, so a span recorded meanwhile is covered too. Spans are in recording time (ms from the
 * first sample, the time base the transcriber read the channel files in), at the recording's own rate. A
 * speaker's spans go on its mono file and on its channel of the dual file, whose other channel stays as it was.
 * The caller holds the recording's lease (`owner`): one writer per object, and the row updates are fenced by it.
 */
export async function applyRecordingRedactions(
  deps: RecordingRedactionDeps,
  recordingSid: string,
  owner: string,
  signal: AbortSignal,
): Promise<number> {
  const { store, repository, metrics, logger, audioRedaction } = deps;
  let rewritten = 0;
  for (;;) {
    const row = await repository.get(recordingSid);
    if (row?.status !== 'stored') return rewritten;
    const spans = await repository.redactions(recordingSid);
    const applied = await repository.redactionsApplied(recordingSid);
    const channelOf = new Map(
      row.objects.flatMap((o) => (o.channel === null ? [] : [[o.role, o.channel] as const])),
    );
    let changed = false;
    for (const object of row.objects) {
      const covered: RedactionSpan[] =
        object.channel === null
          ? [...spans].flatMap(([speaker, list]) => {
              const channel = channelOf.get(speaker);
              return channel === undefined ? [] : list.map((s) => ({ ...s, channel: channel - 1 }));
            })
          : (spans.get(object.role) ?? []);
      if (covered.length <= (applied.get(object.role) ?? 0)) continue;
      if (signal.aborted)
        throw signal.reason instanceof RecordingLeaseLostError ? signal.reason : new ShuttingDownError();
      const result = await redactStoredWav(store, object.key, { fill: audioRedaction.fill, spans: covered });
      await repository.objectRedacted(recordingSid, owner, object.role, result, covered.length);
      metrics.redactedObjects.inc({ role: object.role });
      logger.info(
        { recordingSid, callSid: row.callSid, role: object.role, key: object.key, spans: covered.length },
        'recording audio redacted',
      );
      rewritten += 1;
      changed = true;
    }
    if (!changed) return rewritten;
  }
}

/**
 * Handles the public transcript finals (consumer `recording-fetcher-redactions`): a recording final's redacted
 * spans are recorded and, once the recording is stored, applied under its lease (while another delivery holds
 * it, the final is redelivered later; the archive applies every span recorded before it finishes).
 */
export function recordingRedactionHandler(
  deps: RecordingRedactionDeps & { leaseMs: number; isErased: (callSid: string) => Promise<boolean> },
) {
  return async (event: TranscriptEvent): Promise<void> => {
    // Live transcripts are in stream time: stream-ingest covers its own files.
    if (event.type !== 'transcript.final.v1' || event.source !== 'recording') return;
    const spans = event.redactions ?? [];
    // A final of an erased call (published as the erasure ran) leaves nothing behind.
    if (spans.length === 0 || (await deps.isErased(event.callSid))) return;
    // A recording transcript's segment id is `<RecordingSid>:<speaker>:<sequence>` (the transcriber's segmenter
    // stream id): the only place the event names its recording.
    const recordingSid = event.segmentId.split(':')[0] ?? '';
    if (!RECORDING_SID.test(recordingSid)) {
      throw new InvalidMessageError('recording transcript', [
        'segmentId: does not start with a RecordingSid',
      ]);
    }
    const { repository } = deps;
    await repository.addRedactions(recordingSid, event.speaker, spans);
    if ((await repository.get(recordingSid))?.status !== 'stored') return;
    const lease = await RecordingLease.claim(repository, recordingSid, deps.leaseMs);
    if (!lease) throw new RecordingBusyError(recordingSid);
    try {
      await applyRecordingRedactions(deps, recordingSid, lease.owner, lease.signal);
    } finally {
      await lease.release();
    }
  };
}
