export { createTranscriber, type Transcriber, type TranscriberDeps } from './app.js';
export {
  loadTranscriberConfig,
  threadsPerInference,
  TRANSCRIBER_VARIABLES,
  type TranscriberConfig,
} from './config.js';
export { CONSUMER_NAMES, consumerSpecs, type ConsumerKind } from './consumers.js';
export { TRANSCRIBER_MIGRATIONS, MIGRATIONS_TABLE } from './db/migrations.js';
export {
  TranscriptStore,
  type StoredSegment,
  type SegmentKey,
  type TranscriptSource,
} from './db/transcript-store.js';
export {
  Recognizer,
  ModelUnusableError,
  RecognitionError,
  type Recognition,
  type RecognizerOptions,
} from './engine/recognizer.js';
export {
  ModelLoader,
  describeModelError,
  type ModelStatus,
  type LoadedModels,
} from './engine/model-loader.js';
export { PartialGate, type DropReason } from './live/partial-gate.js';
export { RecordingAudio, RecordingFormatError } from './recording/recording-audio.js';
export { WorkSlots, SlotsClosedError, PRIORITY, type Priority } from './work/slots.js';
export { createTranscriberMetrics, type TranscriberMetrics } from './metrics.js';
