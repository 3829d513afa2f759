export {
  fetchWhisperModel,
  DEFAULT_BASE_URL,
  type FetchModelOptions,
  type FetchModelResult,
  type FetchedFile,
} from './fetch-model.js';
export {
  downloadFile,
  MODEL_FETCH_RETRY,
  type DownloadOptions,
  type DownloadOutcome,
  type Progress,
} from './download-file.js';
export { probeRemoteFile, type RemoteFile } from './remote-file.js';
export {
  externalDataFiles,
  repoForModel,
  whisperModelFiles,
  DEFAULT_ORGANISATION,
  TIMESTAMPED_SUFFIX,
} from './layout.js';
export { ModelFetchError, RemoteFileNotFoundError, VerificationError, DownloadError } from './errors.js';
