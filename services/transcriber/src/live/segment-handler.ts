import type { Logger } from '@calltx/runtime';
import type { SpeechSegment } from '@calltx/events/internal';
import type { CallSettings } from '../calls/call-settings.js';
import type { StoredSegment, TranscriptStore } from '../db/transcript-store.js';
import type { DecodeSettings, DetailedRecognition, Recognition, Recognizer } from '../engine/recognizer.js';
import type { TranscriberMetrics } from '../metrics.js';
import type { PublishedFinals } from '../transcripts/published-finals.js';
import type { TranscriptPublisher } from '../transcripts/publisher.js';
import { detailInCallTime } from '../transcripts/detail.js';
import type { TranscriptRedactor } from '../transcripts/redaction.js';
import { PRIORITY, type WorkSlots } from '../work/slots.js';
import type { PartialGate } from './partial-gate.js';

export interface LiveDeps {
  recognizer: Recognizer;
  settings: CallSettings;
  slots: WorkSlots;
  gate: PartialGate;
  store: TranscriptStore;
  publisher: TranscriptPublisher;
  publishedFinals: PublishedFinals;
  redactor: TranscriptRedactor;
  metrics: TranscriberMetrics;
  logger: Logger;
}

/** What a reissued final came to: already in TRANSCRIPTS, published under its own id, or under the reissue's. */
type ReissueOutcome = 'present' | 'published' | 'republished';

export function decodePcm(base64: string): Int16Array {
  const bytes = Buffer.from(base64, 'base64');
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
  return pcm;
}

/**
 * A live partial: transcribed and published unless the gate says it is stale or superseded, checked when it
 * arrives, when it gets a slot, and before publishing (a final that overtook it makes it worthless).
 */
export async function handlePartial(deps: LiveDeps, segment: SpeechSegment): Promise<void> {
  const { gate, metrics } = deps;
  gate.notePartial(segment.segmentId, segment.endMs);
  const drop = (reason: 'stale' | 'superseded') => {
    metrics.partialsDropped.inc({ reason });
    deps.logger.debug({ callSid: segment.callSid, segmentId: segment.segmentId, reason }, 'partial dropped');
  };
  const reason = gate.check(segment);
  if (reason) return drop(reason);
  const settings = await deps.settings.forCall(segment.callSid);
  const waiting = performance.now();
  const result = await deps.slots.run(PRIORITY.partial, async () => {
    const late = gate.check(segment);
    if (late) return late;
    metrics.stageSeconds.observe({ kind: 'partial', stage: 'queue' }, (performance.now() - waiting) / 1000);
    return recognize(deps, segment, settings, 'partial');
  });
  if (typeof result === 'string') return drop(result);
  // Already transcribed, so age no longer matters; but a partial published after its final would confuse.
  if (gate.superseded(segment)) return drop('superseded');
  await deps.publisher.partial({
    ...segment,
    ...deps.redactor.partial(result.text, segment.startMs, segment.endMs),
  });
}

/**
 * A live final: never dropped. Stored first (the first transcription wins), then published with the
 * segment's Nats-Msg-Id; a redelivery finds the row and republishes it without running the model again.
 */
export async function handleFinal(deps: LiveDeps, segment: SpeechSegment): Promise<void> {
  deps.gate.noteFinal(segment.segmentId);
  // From the end of the audio (gateway's clock) to this replica holding the segment.
  const delivered = Math.max(0, Date.now() - Date.parse(segment.audioEndAt)) / 1000;
  deps.metrics.stageSeconds.observe({ kind: 'final', stage: 'delivery' }, delivered);
  const key = {
    callSid: segment.callSid,
    speaker: segment.speaker,
    segmentId: segment.segmentId,
    source: 'live' as const,
  };
  // The work slot is held until the final is published, not just inferred: an inference started meanwhile would
  // hold this replica's event loop (onnxruntime-node runs sessions on it), and the final's INSERT and publish
  // acknowledgement would wait behind it.
  let release: (() => void) | undefined;
  try {
    const { stored, found } = await deps.store.findOrTranscribe(key, async () => {
      const settings = await deps.settings.forCall(segment.callSid);
      const waiting = performance.now();
      release = await deps.slots.acquire(PRIORITY.final);
      deps.metrics.stageSeconds.observe(
        { kind: 'final', stage: 'queue' },
        (performance.now() - waiting) / 1000,
      );
      const result = await recognize(deps, segment, settings, 'final');
      return deps.redactor.final({
        ...detailInCallTime(result, segment.startMs, segment.endMs),
        sequence: segment.sequence,
        startMs: segment.startMs,
        endMs: segment.endMs,
        text: result.text,
        modelId: deps.recognizer.modelId,
        audioEndAt: segment.audioEndAt,
        inferenceMs: result.inferenceMs,
      });
    });
    if (found) {
      deps.logger.info(
        { callSid: segment.callSid, segmentId: segment.segmentId },
        'final already stored, republishing it',
      );
    }
    if (found && segment.reissue !== undefined) await publishReissued(deps, stored, segment.reissue);
    else await deps.publisher.final(stored);
  } finally {
    release?.();
  }
  deps.logger.debug(
    {
      callSid: segment.callSid,
      speaker: segment.speaker,
      segmentId: segment.segmentId,
      sequence: segment.sequence,
    },
    'final published',
  );
}

/**
 * A reissued final already transcribed: the live-finals audit found no transcript of it, so TRANSCRIPTS either
 * lost it after acknowledging it, or its first publish is still on its way (retried through an election). Nothing
 * is published when a copy is there by now. The segment's own id comes first, so that a first publish still in
 * flight and this one make one message; the reissue's id only when the duplicate window holds the segment's id
 * and the stream still no copy: lost after its acknowledgement.
 */
async function publishReissued(deps: LiveDeps, stored: StoredSegment, reissue: number): Promise<void> {
  const outcome = async (): Promise<ReissueOutcome> => {
    if (await deps.publishedFinals.holds(stored)) return 'present';
    if (!(await deps.publisher.final(stored)).duplicate) return 'published';
    if (await deps.publishedFinals.holds(stored)) return 'present';
    await deps.publisher.final(stored, reissue);
    return 'republished';
  };
  const result = await outcome();
  deps.metrics.reissuedFinals.inc({ outcome: result });
  deps.logger.info(
    { callSid: stored.callSid, segmentId: stored.segmentId, reissue, outcome: result },
    'reissued final settled',
  );
}

async function recognize<K extends 'partial' | 'final'>(
  deps: LiveDeps,
  segment: SpeechSegment,
  settings: DecodeSettings,
  kind: K,
): Promise<K extends 'final' ? DetailedRecognition : Recognition> {
  const pcm = decodePcm(segment.pcm);
  deps.logger.debug(
    { callSid: segment.callSid, segmentId: segment.segmentId, kind, samples: pcm.length },
    'transcribing',
  );
  const result =
    kind === 'final'
      ? await deps.recognizer.recognizeDetailed(pcm, settings)
      : await deps.recognizer.recognize(pcm, settings);
  // The prompt shows what the call's language and hints became (token ids, never text).
  deps.logger.debug(
    {
      callSid: segment.callSid,
      segmentId: segment.segmentId,
      kind,
      prompt: result.prompt,
    },
    'transcribed',
  );
  deps.metrics.inferenceSeconds.observe({ kind }, result.inferenceMs / 1000);
  const { logMelMs, encoderMs, decoderMs, wordsMs } = result.stages;
  const stages = { 'log-mel': logMelMs, encoder: encoderMs, decoder: decoderMs, 'word-timing': wordsMs };
  for (const [stage, ms] of Object.entries(stages))
    deps.metrics.stageSeconds.observe({ kind, stage }, ms / 1000);
  deps.metrics.audioSeconds.inc({ kind }, pcm.length / 16_000);
  return result as K extends 'final' ? DetailedRecognition : Recognition;
}
