import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '@calltx/runtime';
import type { ObjectStore } from '@calltx/storage';
import type { TranscriptionJob } from '@calltx/events/internal';
import { Segmenter, type SegmentEvent, type SileroVad } from '@calltx/speech';
import type { CallSettings } from '../calls/call-settings.js';
import type { TranscriptStore } from '../db/transcript-store.js';
import type { DecodeSettings, Recognizer } from '../engine/recognizer.js';
import type { TranscriberMetrics } from '../metrics.js';
import type { TranscriptPublisher } from '../transcripts/publisher.js';
import { detailInCallTime } from '../transcripts/detail.js';
import type { TranscriptRedactor } from '../transcripts/redaction.js';
import { PRIORITY, type WorkSlots } from '../work/slots.js';
import { RecordingAudio } from './recording-audio.js';

export interface RecordingDeps {
  recognizer: Recognizer;
  settings: CallSettings;
  vad: SileroVad;
  slots: WorkSlots;
  store: TranscriptStore;
  objects: ObjectStore;
  publisher: TranscriptPublisher;
  redactor: TranscriptRedactor;
  metrics: TranscriberMetrics;
  logger: Logger;
}

/** 10 s of 16 kHz audio per VAD step: long enough to be efficient, short enough to yield to live work often. */
const VAD_BLOCK_SAMPLES = 160_000;

/**
 * A post-call job: the stored channel is read in ranged blocks, upsampled to 16 kHz, cut into utterances by
 * the same VAD segmentation as `segmentWhole` (streamed, so a long recording is never held in memory) and
 * only speech goes to Whisper. Every step takes a slot at recording priority, so live work overtakes it
 * between steps. Finals already stored by an earlier delivery are republished without inference, so a
 * redelivered job resumes where the last one stopped.
 */
export async function handleRecordingJob(
  deps: RecordingDeps,
  job: TranscriptionJob,
  msg: JsMsg,
): Promise<void> {
  const { logger, slots } = deps;
  const audio = await RecordingAudio.open(deps.objects, job.objectKey);
  if (audio.sampleRate !== job.sampleRate) {
    logger.warn(
      { callSid: job.callSid, key: job.objectKey, job: job.sampleRate, wav: audio.sampleRate },
      'job and WAV disagree on the sample rate; using the WAV',
    );
  }
  const queuedAt = msg.time.toISOString();
  const settings = await deps.settings.forCall(job.callSid);
  const segmenter = new Segmenter(deps.vad, {
    streamId: `${job.recordingSid}:${job.speaker}`,
    partialIntervalMs: 0,
  });
  const started = performance.now();
  let offsetMs = 0;
  let segments = 0;
  for await (const block of audio.blocks16k(VAD_BLOCK_SAMPLES)) {
    const events = await slots.run(PRIORITY.recording, () => segmenter.push(block, offsetMs));
    offsetMs += block.length / 16;
    for (const event of events) await transcribeSegment(deps, job, event, queuedAt, settings);
    segments += events.length;
  }
  const rest = await slots.run(PRIORITY.recording, () => segmenter.flush());
  for (const event of rest) await transcribeSegment(deps, job, event, queuedAt, settings);
  segments += rest.length;
  logger.info(
    {
      callSid: job.callSid,
      speaker: job.speaker,
      recordingSid: job.recordingSid,
      audioMs: audio.durationMs,
      segments,
      ms: Math.round(performance.now() - started),
    },
    'recording transcribed',
  );
}

async function transcribeSegment(
  deps: RecordingDeps,
  job: TranscriptionJob,
  event: SegmentEvent,
  queuedAt: string,
  settings: DecodeSettings,
): Promise<void> {
  const key = {
    callSid: job.callSid,
    speaker: job.speaker,
    segmentId: event.segmentId,
    source: 'recording' as const,
  };
  const { stored } = await deps.store.findOrTranscribe(key, async () => {
    const result = await deps.slots.run(PRIORITY.recording, () =>
      deps.recognizer.recognizeDetailed(event.pcm, settings),
    );
    deps.logger.debug(
      { callSid: job.callSid, segmentId: event.segmentId, kind: 'recording', prompt: result.prompt },
      'transcribed',
    );
    deps.metrics.inferenceSeconds.observe({ kind: 'recording' }, result.inferenceMs / 1000);
    deps.metrics.audioSeconds.inc({ kind: 'recording' }, event.pcm.length / 16_000);
    const startMs = Math.floor(event.startMs);
    const endMs = Math.ceil(event.endMs);
    return deps.redactor.final({
      ...detailInCallTime(result, startMs, endMs),
      sequence: event.sequence,
      startMs,
      endMs,
      text: result.text,
      modelId: deps.recognizer.modelId,
      audioEndAt: queuedAt,
      inferenceMs: result.inferenceMs,
    });
  });
  await deps.publisher.final(stored);
}
