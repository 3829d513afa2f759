import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEvent } from '@calltx/nats';
import { transcriptEvents, type Subjects, type TranscriptRedaction } from '@calltx/events';
import type { StoredSegment } from '../db/transcript-store.js';
import type { TranscriberMetrics } from '../metrics.js';

/** The schema's limit; Whisper's 224-token window stays far below it, so this only guards odd models. */
const MAX_TEXT = 10_000;

export interface PartialTranscript {
  callSid: string;
  speaker: string;
  segmentId: string;
  sequence: number;
  startMs: number;
  endMs: number;
  text: string;
  audioEndAt: string;
  redactions?: TranscriptRedaction[];
}

/**
 * Publishes transcript events on `transcripts.v1.<CallSid>.<speaker>.<partial|final>`. A final's
 * Nats-Msg-Id is `<segmentId>:final`, so a redelivered segment's second publish is dropped by JetStream.
 */
export class TranscriptPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly subjects: Subjects,
    private readonly metrics: TranscriberMetrics,
    private readonly modelId: () => string,
  ) {}

  async partial(partial: PartialTranscript): Promise<void> {
    const publishedAt = new Date();
    const event = transcriptEvents.partial({
      ...partial,
      text: partial.text.slice(0, MAX_TEXT),
      final: false,
      source: 'live',
      modelId: this.modelId(),
      timing: timing(partial.audioEndAt, publishedAt),
    });
    await publishEvent(
      this.js,
      this.subjects.transcript(partial.callSid, partial.speaker, 'partial'),
      event,
      `${partial.segmentId}:partial:${partial.endMs}`,
    );
    this.metrics.partialsPublished.inc();
    this.metrics.latencySeconds.observe({ kind: 'partial' }, latencySeconds(partial.audioEndAt));
  }

  /**
   * Publishes a stored final as it is stored (the first transcription of the segment wins), under the segment's
   * Nats-Msg-Id, or for a reissue (its attempt) under one of its own. `duplicate`: JetStream already had that id
   * within its duplicate window, and stored nothing.
   */
  async final(segment: StoredSegment, reissue?: number): Promise<{ duplicate: boolean }> {
    const event = transcriptEvents.final({
      callSid: segment.callSid,
      speaker: segment.speaker,
      segmentId: segment.segmentId,
      sequence: segment.sequence,
      startMs: segment.startMs,
      endMs: segment.endMs,
      text: segment.text.slice(0, MAX_TEXT),
      final: true,
      source: segment.source,
      modelId: segment.modelId,
      timing: timing(segment.audioEndAt, new Date()),
      ...(segment.language === null ? {} : { language: segment.language }),
      ...(segment.avgLogprob === null ? {} : { avgLogprob: Math.min(0, segment.avgLogprob) }),
      ...(segment.noSpeechProb === null ? {} : { noSpeechProb: segment.noSpeechProb }),
      ...(segment.segments === null
        ? {}
        : { segments: segment.segments.map((s) => ({ ...s, text: s.text.slice(0, MAX_TEXT) })) }),
      ...(segment.words === null ? {} : { words: segment.words }),
      ...(segment.redactions === null ? {} : { redactions: segment.redactions }),
    });
    const ack = await publishEvent(
      this.js,
      this.subjects.transcript(segment.callSid, segment.speaker, 'final'),
      event,
      reissue === undefined ? `${segment.segmentId}:final` : `${segment.segmentId}:final:reissue:${reissue}`,
    );
    this.metrics.finalsPublished.inc({ source: segment.source });
    if (segment.source === 'live')
      this.metrics.latencySeconds.observe({ kind: 'final' }, latencySeconds(segment.audioEndAt));
    return { duplicate: ack.duplicate };
  }
}

function timing(audioEndAt: string, publishedAt: Date) {
  return {
    audioEndAt,
    publishedAt: publishedAt.toISOString(),
    latencyMs: Math.max(0, publishedAt.getTime() - Date.parse(audioEndAt)),
  };
}

function latencySeconds(audioEndAt: string): number {
  return Math.max(0, Date.now() - Date.parse(audioEndAt)) / 1000;
}
