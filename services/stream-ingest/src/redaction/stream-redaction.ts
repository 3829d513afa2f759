import { redactStoredWav, type RedactionFill } from '@calltx/audio';
import { CalltxError, type TranscriptEvent } from '@calltx/events';
import type { Logger } from '@calltx/runtime';
import type { ObjectStore } from '@calltx/storage';
import type { CallClaims } from '../claims/index.js';
import type { CallsRepo } from '../db/calls-repo.js';
import type { IngestMetrics } from '../metrics.js';

/** AUDIO_REDACT on: what covers a redacted span. */
export interface AudioRedaction {
  fill: RedactionFill;
}

export interface StreamRedactionDeps {
  store: ObjectStore;
  repo: CallsRepo;
  metrics: IngestMetrics;
  logger: Logger;
  audioRedaction?: AudioRedaction | undefined;
}

/** Another holder (the call's owner finalizing, or a recovery pass) has the call: the span is applied on redelivery. */
export class CallBusyError extends CalltxError {
  constructor(callSid: string) {
    super(`call ${callSid} is held by another replica; its audio is redacted on a later delivery`, {
      retryable: true,
    });
  }
}

/**
 * Covers, in each stream WAV of the call, every stored span of its speaker that its content does not hold yet,
 * and records the new size and hash; then looks again, so a span recorded meanwhile is covered too. The caller
 * holds the call's claim (`mayWrite`): one writer per file. Spans are in call time, which is the WAVs' own time
 * base (sample 0 is timestamp 0 of the media stream), at 8 and 16 kHz alike. Returns the files rewritten.
 */
export async function applyStreamRedactions(
  deps: StreamRedactionDeps,
  callSid: string,
  mayWrite: () => boolean,
): Promise<number> {
  const { store, repo, metrics, logger, audioRedaction } = deps;
  if (!audioRedaction) return 0;
  let rewritten = 0;
  for (;;) {
    const spans = await repo.redactions(callSid);
    const files = (await repo.files(callSid)).filter(
      (file) => (spans.get(file.speaker)?.length ?? 0) > file.redactionsApplied,
    );
    if (files.length === 0) return rewritten;
    for (const file of files) {
      const covered = spans.get(file.speaker)!;
      if (!mayWrite()) throw new CallBusyError(callSid);
      const result = await redactStoredWav(store, file.key, { fill: audioRedaction.fill, spans: covered });
      // A claim lost meanwhile: another writer may hold the file now, so this content is not recorded as its.
      if (!mayWrite()) throw new CallBusyError(callSid);
      await repo.fileRedacted(callSid, file, result, covered.length);
      metrics.redactedFiles.inc({ sample_rate: String(file.sampleRate) });
      rewritten += 1;
      logger.info(
        { callSid, speaker: file.speaker, sampleRate: file.sampleRate, key: file.key, spans: covered.length },
        'stream audio redacted',
      );
    }
  }
}

/**
 * Handles the public transcript finals (consumer `stream-ingest-redactions`): a live final's redacted spans are
 * recorded, and applied at once when the call's WAVs are stored; before that, finalize applies them.
 */
export function redactionHandler(
  deps: StreamRedactionDeps & { claims: CallClaims; isErased: (callSid: string) => Promise<boolean> },
) {
  return async (event: TranscriptEvent): Promise<void> => {
    // Recording transcripts are in the recording's time base: the recording-fetcher covers its own files.
    if (event.type !== 'transcript.final.v1' || event.source !== 'live') return;
    const spans = event.redactions ?? [];
    // A final of an erased call (published as the erasure ran) leaves nothing behind.
    if (spans.length === 0 || (await deps.isErased(event.callSid))) return;
    const { repo, claims } = deps;
    await repo.addRedactions(event.callSid, event.speaker, spans);
    // Recorded before the state is read: finalize marks the call stored before it reads the spans, so one of
    // the two sees the other's write.
    const row = await repo.get(event.callSid);
    if (!row || row.ingestState === 'none' || row.ingestState === 'active') return;
    const claim = await claims.claim(event.callSid);
    if (!claim) throw new CallBusyError(event.callSid);
    try {
      await applyStreamRedactions(deps, event.callSid, () => claim.isHeld());
    } finally {
      await claim.release();
    }
  };
}
