export {
  createRecordingFetcher,
  createFetcherStore,
  CONSUMER_NAME,
  UPLOAD_PART_BYTES,
  type RecordingFetcher,
  type FetcherDeps,
} from './app.js';
export { loadFetcherConfig, FETCHER_VARIABLES, type FetcherConfig } from './config.js';
export { RECORDING_MIGRATIONS, MIGRATIONS_TABLE } from './db/migrations.js';
export {
  RecordingsRepository,
  type RecordingRow,
  type RecordingObjectRow,
  type RecordingRowStatus,
} from './db/recordings-repository.js';
export { recordingKeys } from './processing/recording-processor.js';
export { RecordingFetchError, type FetchFailureCode } from './errors.js';
