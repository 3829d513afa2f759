import type { JetStreamClient } from '@nats-io/jetstream';
import { pcm16leBytes } from '@calltx/audio';
import { retry, type RetryPolicy } from '@calltx/retry';
import { internalEvents } from '@calltx/events/internal';
import { JETSTREAM_RETRY, publishEvent } from '@calltx/nats';
import { type Logger } from '@calltx/runtime';
import { type Subjects } from '@calltx/events';
import type { IngestMetrics } from '../metrics.js';
import type { LiveProgress, SpeechSink, SpeechSinkFactory } from './speech-sink.js';

/** What the ingest needs of a VAD segmenter (`Segmenter` of @calltx/speech). */
export interface SegmenterLike {
  push(pcm16k: Int16Array, offsetMs: number): Promise<SegmentLike[]>;
  flush(): Promise<SegmentLike[]>;
}

export interface SegmentLike {
  kind: 'partial' | 'final';
  /** Utterance number in the segmenter's stream, from 0. */
  sequence: number;
  startMs: number;
  endMs: number;
  pcm: Int16Array;
}

export interface SpeechPublisherOptions {
  js: JetStreamClient;
  subjects: Subjects;
  logger: Logger;
  metrics: IngestMetrics;
  /** A segmenter for one stream of one speaker (its own segment ids are not used). */
  createSegmenter: (streamId: string) => SegmenterLike;
  /** Called once a final is published: where a replica taking the call over resumes. */
  recordFinal: (callSid: string, speaker: string, progress: LiveProgress) => Promise<void>;
  /** Audio queued for the segmenter beyond which the media consumer waits (bounds memory while catching up). */
  maxBacklogMs?: number;
  /** Partials are dropped while this many publishes are unanswered (the transcriber may skip them anyway). */
  maxPublishesInFlight?: number;
}

/**
 * A final is retried along JetStream's curve (0.5 s doubling to 30 s) for about a minute in all before it is given
 * up: a NATS server killed or restarted leaves JetStream without a leader for seconds, and a final not published is
 * lost to the live path for good. A partial is tried once, as the next partial or the final supersedes it.
 */
const FINAL_PUBLISH_RETRY: RetryPolicy = { ...JETSTREAM_RETRY, attempts: 8 };
const PARTIAL_PUBLISH_RETRY: RetryPolicy = { ...JETSTREAM_RETRY, attempts: 1 };

/**
 * Live speech for the transcriber: each speaker's 16 kHz audio goes through its own segmenter, and every
 * partial and final utterance is published as a SpeechSegment on `audio.v1.<CallSid>.<speaker>.<kind>`.
 * The segmenter starts where the live path starts (the call's beginning, or where a replica resumed it after a
 * takeover). Utterances are numbered per call and speaker across takeovers (a resumed path continues after the
 * last final recorded), and a segment's id and a final's Nats-Msg-Id follow from that number alone: a final
 * published again by the next owner (its predecessor died before recording it) is the same message.
 */
export function speechPublisher(options: SpeechPublisherOptions): SpeechSinkFactory {
  const { js, subjects, logger, metrics } = options;
  const maxBacklogSamples = (options.maxBacklogMs ?? 5_000) * 16;
  const maxInFlight = options.maxPublishesInFlight ?? 64;
  let inFlight = 0;

  const publish = async (
    callSid: string,
    speaker: string,
    sequence: number,
    segment: SegmentLike,
    audioEndAt: string,
  ): Promise<void> => {
    const final = segment.kind === 'final';
    if (!final && inFlight >= maxInFlight) {
      metrics.speechSegments.inc({ kind: 'partial', outcome: 'dropped' });
      return;
    }
    const segmentId = `${callSid}:${speaker}:${sequence}`;
    const event = internalEvents.speechSegment({
      callSid,
      speaker,
      segmentId,
      sequence,
      final,
      startMs: Math.floor(segment.startMs),
      endMs: Math.ceil(segment.endMs),
      sampleRate: 16000,
      pcm: pcm16leBytes(segment.pcm).toString('base64'),
      audioEndAt,
    });
    const subject = subjects.audio(callSid, speaker, segment.kind);
    const msgId = final ? `${segmentId}:final` : `${segmentId}:partial:${event.endMs}`;
    inFlight += 1;
    try {
      await retry(
        () => publishEvent(js, subject, event, msgId),
        final ? FINAL_PUBLISH_RETRY : PARTIAL_PUBLISH_RETRY,
        { retryable: () => true },
      );
      metrics.speechSegments.inc({ kind: segment.kind, outcome: 'published' });
    } catch (error) {
      metrics.speechSegments.inc({ kind: segment.kind, outcome: 'failed' });
      logger.warn({ err: error, callSid, speaker, segmentId }, 'speech segment not published');
      return;
    } finally {
      inFlight -= 1;
    }
    if (!final) return;
    await options.recordFinal(callSid, speaker, { sequence, endMs: segment.endMs }).catch((error: unknown) =>
      // The next owner would resume before this final and publish it again, under the same id.
      logger.warn({ err: error, callSid, speaker, segmentId }, 'live progress not recorded'),
    );
  };

  return (callSid, speaker, after): SpeechSink => {
    const firstSequence = after ? after.sequence + 1 : 0;
    let segmenter: SegmenterLike | undefined;
    let backlog = 0;
    const waiters: Array<() => void> = [];
    let lastAudioEndAt = new Date(0).toISOString();
    const settle = (samples: number) => {
      backlog -= samples;
      if (backlog <= maxBacklogSamples) for (const wake of waiters.splice(0)) wake();
    };
    const emit = (segments: SegmentLike[], audioEndAt: string) => {
      for (const segment of segments)
        void publish(callSid, speaker, firstSequence + segment.sequence, segment, audioEndAt);
    };
    let failures = 0;
    // Logged once per stream: a broken model would otherwise log every 20 ms.
    const failed = (error: unknown) => {
      if (failures++ === 0) logger.error({ err: error, callSid, speaker }, 'speech segmenter failed');
    };

    return {
      push(pcm16k, offsetMs, audioEndAt) {
        segmenter ??= options.createSegmenter(`${callSid}:${speaker}`);
        lastAudioEndAt = audioEndAt;
        backlog += pcm16k.length;
        segmenter
          .push(pcm16k, offsetMs)
          .then((segments) => emit(segments, audioEndAt), failed)
          .finally(() => settle(pcm16k.length));
        if (backlog <= maxBacklogSamples) return undefined;
        return new Promise<void>((resolve) => waiters.push(resolve));
      },
      end() {
        segmenter?.flush().then((segments) => emit(segments, lastAudioEndAt), failed);
      },
    };
  };
}
