export {
  createStreamIngest,
  timingFromConfig,
  LIFECYCLE_CONSUMER,
  type StreamIngest,
  type StreamIngestDeps,
} from './app.js';
export { loadIngestConfig, INGEST_VARIABLES, type IngestConfig } from './config.js';
export { MIGRATIONS, MIGRATIONS_TABLE } from './db/migrations.js';
export { CallsRepo, type CallRow, type IngestState, type StreamFileRow } from './db/calls-repo.js';
export { CallManager } from './calls/call-manager.js';
export { OwnedCall, type CallTiming, type FinalizeTrigger } from './calls/owned-call.js';
export { isMediaConsumerOf, mediaConsumerName } from './calls/media-consumer.js';
export {
  FRAME_BYTES,
  SAMPLES_PER_MS,
  MAX_TIMESTAMP_MS,
  MAX_FORWARD_JUMP_MS,
  decodePayload,
  type Frame,
} from './frames/frame.js';
export { encodePart, decodePart, PartFormatError, type SpooledFrame } from './spool/part-format.js';
export {
  wavKey,
  partsPrefix,
  partKey,
  parsePartKey,
  streamPrefix,
  type PartRef,
} from './spool/object-keys.js';
export { mergeParts, type MergeStats } from './finalize/merge.js';
export { writeCallWavs, listParts, type CallWavs, type SpeakerWavs } from './finalize/call-wavs.js';
export { storeWav, upsampled, WavWriteError, type StoredWav } from './finalize/wav-writer.js';
export { LiveTrack } from './live/live-track.js';
export {
  speechPublisher,
  type SegmenterLike,
  type SegmentLike,
  type SpeechPublisherOptions,
} from './live/speech-publisher.js';
export type { SpeechSink, SpeechSinkFactory } from './live/speech-sink.js';
export { createIngestMetrics, type IngestMetrics, type RejectReason } from './metrics.js';
export { CallClaims, ClaimError, claimsBucketName, type Claim, type ClaimsOptions } from './claims/index.js';
