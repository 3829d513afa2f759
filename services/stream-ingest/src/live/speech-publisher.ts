import type { JetStreamClient } from '@nats-io/jetstream';
import { pcm16leBytes } from '@calltx/audio';
import { retry, type RetryPolicy } from '@calltx/retry';
import { internalEvents, type SpeechSegment } from '@calltx/events/internal';
import { JETSTREAM_RETRY, publishEvent } from '@calltx/nats';
import { type Logger } from '@calltx/runtime';
import { type Subjects } from '@calltx/events';
import type { IngestMetrics } from '../metrics.js';
import type { LiveProgress, PublishedFinal, SpeechSink, SpeechSinkFactory } from './speech-sink.js';

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
  /** Called once a final is published: where a replica taking the call over resumes, and what the audit checks. */
  recordFinal: (callSid: string, speaker: string, final: PublishedFinal) => Promise<void>;
  /** Audio queued for the segmenter beyond which the media consumer waits (bounds memory while catching up). */
  maxBacklogMs?: number;
  /** Partials are dropped while this many publishes are unanswered (the transcriber may skip them anyway). */
  maxPublishesInFlight?: number;
}

/**
 * A final is retried for about a minute in all before it is given up: a NATS server killed or restarted leaves
 * JetStream without a leader for seconds, and a final given up waits for the live-finals audit after the call.
 * Its waits stop growing at 5 s (not JetStream's 30 s): the finals after it, and the call's finalize, wait for it,
 * so it should land within seconds of an election ending. A partial is tried once, as the next partial or the
 * final supersedes it.
 */
const FINAL_PUBLISH_RETRY: RetryPolicy = { ...JETSTREAM_RETRY, capMs: 5_000, attempts: 15 };
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
    pathStartMs: number,
  ): Promise<void> => {
    const final = segment.kind === 'final';
    if (!final && inFlight >= maxInFlight) {
      metrics.speechSegments.inc({ kind: 'partial', outcome: 'dropped' });
      return;
    }
    const event = speechSegmentEvent(callSid, speaker, sequence, segment, audioEndAt);
    const { segmentId } = event;
    const msgId = final ? `${segmentId}:final` : `${segmentId}:partial:${event.endMs}`;
    inFlight += 1;
    try {
      await retry(
        () => publishEvent(js, subjects.audio(callSid, speaker, segment.kind), event, msgId),
        final ? FINAL_PUBLISH_RETRY : PARTIAL_PUBLISH_RETRY,
        { retryable: () => true },
      );
      metrics.speechSegments.inc({ kind: segment.kind, outcome: 'published' });
    } catch (error) {
      metrics.speechSegments.inc({ kind: segment.kind, outcome: 'failed' });
      logger.warn({ err: error, callSid, speaker, segmentId }, 'speech segment not published');
      // A final given up is recorded all the same: the live-finals audit publishes it again once the call is stored.
      if (!final) return;
    } finally {
      inFlight -= 1;
    }
    if (!final) return;
    const recorded = { sequence, startMs: segment.startMs, endMs: segment.endMs, pathStartMs };
    await options.recordFinal(callSid, speaker, recorded).catch((error: unknown) =>
      // The next owner would resume before this final and publish it again, under the same id.
      logger.warn({ err: error, callSid, speaker, segmentId }, 'live progress not recorded'),
    );
  };

  return (callSid, speaker, after): SpeechSink => {
    const firstSequence = after ? after.sequence + 1 : 0;
    let segmenter: SegmenterLike | undefined;
    /** The call time of the first audio pushed: the path's start, on its VAD window grid. */
    let pathStartMs = 0;
    let backlog = 0;
    const waiters: Array<() => void> = [];
    let lastAudioEndAt = new Date(0).toISOString();
    const settle = (samples: number) => {
      backlog -= samples;
      if (backlog <= maxBacklogSamples) for (const wake of waiters.splice(0)) wake();
    };
    /** Segmenting under way and finals being published: what `end` waits for. */
    const pending = new Set<Promise<unknown>>();
    const track = (work: Promise<unknown>) => {
      pending.add(work);
      void work.finally(() => pending.delete(work));
    };
    /**
     * Finals are published one after another, each recorded before the next is tried: the recorded finals are
     * always every final up to the last one, so a replica resuming after the last never skips one still retrying
     * when its owner died (seed 967062034 lost a first final that way), and the audit knows every final cut.
     */
    let finals: Promise<void> = Promise.resolve();
    const emit = (segments: SegmentLike[], audioEndAt: string) => {
      for (const segment of segments) {
        const sequence = firstSequence + segment.sequence;
        if (segment.kind === 'partial') {
          void publish(callSid, speaker, sequence, segment, audioEndAt, pathStartMs);
          continue;
        }
        finals = finals
          .then(() => publish(callSid, speaker, sequence, segment, audioEndAt, pathStartMs))
          .catch((error: unknown) =>
            logger.error({ err: error, callSid, speaker, sequence }, 'live final not published'),
          );
        track(finals);
      }
    };
    let failures = 0;
    // Logged once per stream: a broken model would otherwise log every 20 ms.
    const failed = (error: unknown) => {
      if (failures++ === 0) logger.error({ err: error, callSid, speaker }, 'speech segmenter failed');
    };

    return {
      push(pcm16k, offsetMs, audioEndAt) {
        if (!segmenter) {
          segmenter = options.createSegmenter(`${callSid}:${speaker}`);
          pathStartMs = offsetMs;
        }
        lastAudioEndAt = audioEndAt;
        backlog += pcm16k.length;
        track(
          segmenter
            .push(pcm16k, offsetMs)
            .then((segments) => emit(segments, audioEndAt), failed)
            .finally(() => settle(pcm16k.length)),
        );
        if (backlog <= maxBacklogSamples) return undefined;
        return new Promise<void>((resolve) => waiters.push(resolve));
      },
      async end() {
        await segmenter?.flush().then((segments) => emit(segments, lastAudioEndAt), failed);
        while (pending.size > 0) await Promise.all(pending);
      },
    };
  };
}

function speechSegmentEvent(
  callSid: string,
  speaker: string,
  sequence: number,
  segment: SegmentLike,
  audioEndAt: string,
  reissue?: number,
) {
  return internalEvents.speechSegment({
    callSid,
    speaker,
    segmentId: `${callSid}:${speaker}:${sequence}`,
    sequence,
    final: segment.kind === 'final',
    startMs: Math.floor(segment.startMs),
    endMs: Math.ceil(segment.endMs),
    sampleRate: 16000,
    pcm: pcm16leBytes(segment.pcm).toString('base64'),
    audioEndAt,
    ...(reissue === undefined ? {} : { reissue }),
  });
}

/** Which live final to publish again, and the how-manieth time (its Nats-Msg-Id differs each time). */
export interface ReissueTarget {
  sequence: number;
  attempt: number;
}

/**
 * A sink for replayed audio that publishes one live final again and nothing else; `published` resolves once the
 * stream has ended, with the final published (null when the replay did not cut a final of that number).
 */
export type FinalReissuer = (
  callSid: string,
  speaker: string,
  after: LiveProgress | undefined,
  target: ReissueTarget,
) => { sink: SpeechSink; published: Promise<SpeechSegment | null> };

/**
 * Publishes live finals again for the live-finals audit: the replay goes through a fresh segmenter numbered
 * after `after`, as a resumed live path does, and the final of the target's number is published with the same
 * segment id under the Nats-Msg-Id `<segmentId>:final:reissue:<attempt>`: a stream that lost the original may
 * still hold its id in its duplicate window. It is not recorded again (the original is).
 */
export function finalReissuer(
  options: Pick<SpeechPublisherOptions, 'js' | 'subjects' | 'createSegmenter'>,
): FinalReissuer {
  const { js, subjects } = options;
  return (callSid, speaker, after, target) => {
    const firstSequence = after ? after.sequence + 1 : 0;
    const segmenter = options.createSegmenter(`${callSid}:${speaker}:reissue`);
    let published: Promise<SpeechSegment | null> = Promise.resolve(null);
    let lastAudioEndAt = new Date(0).toISOString();
    let ended: (value: Promise<SpeechSegment | null>) => void = () => undefined;
    let failed: (error: unknown) => void = () => undefined;
    const done = new Promise<SpeechSegment | null>((resolve, reject) => {
      ended = resolve;
      failed = reject;
    });
    const emit = (segments: SegmentLike[], audioEndAt: string) => {
      for (const segment of segments) {
        if (segment.kind !== 'final' || firstSequence + segment.sequence !== target.sequence) continue;
        const event = speechSegmentEvent(
          callSid,
          speaker,
          target.sequence,
          segment,
          audioEndAt,
          target.attempt,
        );
        const msgId = `${event.segmentId}:final:reissue:${target.attempt}`;
        published = retry(
          () => publishEvent(js, subjects.audio(callSid, speaker, 'final'), event, msgId),
          FINAL_PUBLISH_RETRY,
          { retryable: () => true },
        ).then(() => event);
        published.catch(() => undefined); // handled through `done`, which may be awaited only later
      }
    };
    // Pushes are awaited one by one (LiveTrack waits for each): the replay holds one push of audio at a time.
    let chain: Promise<void> = Promise.resolve();
    done.catch(() => undefined); // a replay that fails first never awaits it
    return {
      sink: {
        push(pcm16k, offsetMs, audioEndAt) {
          lastAudioEndAt = audioEndAt;
          chain = chain.then(async () => emit(await segmenter.push(pcm16k, offsetMs), audioEndAt));
          chain.catch(failed);
          return chain.catch(() => undefined);
        },
        end() {
          return chain
            .then(async () => emit(await segmenter.flush(), lastAudioEndAt))
            .then(() => ended(published), failed);
        },
      },
      published: done,
    };
  };
}
