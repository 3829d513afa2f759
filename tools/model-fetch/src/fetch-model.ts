import { join } from 'node:path';
import { retry, type RetryPolicy } from '@calltx/retry';
import { downloadFile, MODEL_FETCH_RETRY, type DownloadOutcome, type Progress } from './download-file.js';
import { externalDataFiles, repoForModel, whisperModelFiles } from './layout.js';
import { RemoteFileNotFoundError } from './errors.js';
import { probeRemoteFile, type RemoteFile } from './remote-file.js';

export const DEFAULT_BASE_URL = 'https://huggingface.co';

export interface FetchModelOptions {
  /** `tiny.en`, `base`, `small.en`, … (→ onnx-community/whisper-<name>) or a full `owner/name`. */
  model: string;
  /** The int8 graphs (`*_quantized.onnx`) instead of fp32. */
  quantized?: boolean;
  /** The `_timestamped` variant of a short name (onnx-community/whisper-<name>_timestamped): word timing. */
  timestamped?: boolean;
  /** Parent directory; the model lands in `<dir>/<repository name>`. Default `models`. */
  dir?: string;
  /** The hub's base URL. Default https://huggingface.co. */
  baseUrl?: string;
  /** Tries per look-up and per file, and the waits between them. Default `MODEL_FETCH_RETRY`. */
  retry?: RetryPolicy;
  onProgress?: (progress: Progress) => void;
  onFile?: (file: string, outcome: DownloadOutcome, remote: RemoteFile) => void;
}

export interface FetchedFile {
  file: string;
  bytes: number;
  sha256: string | undefined;
  outcome: DownloadOutcome;
}

export interface FetchModelResult {
  repo: string;
  /** The commit every file was taken from, when the hub named one. */
  commit: string | undefined;
  /** The directory to give the transcriber as WHISPER_MODEL_DIR. */
  modelDir: string;
  files: FetchedFile[];
}

/**
 * Downloads a Whisper model in the layout the transcriber's engine reads, with the graphs' external data where
 * the export has it. Every file is looked up before any is downloaded, so a wrong name fails at once; all are
 * taken from the one commit `main` pointed at when the first was looked up, so a push to the repository
 * mid-download can't mix versions.
 */
export async function fetchWhisperModel(options: FetchModelOptions): Promise<FetchModelResult> {
  const repo = repoForModel(options.model, { timestamped: options.timestamped ?? false });
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const modelDir = join(options.dir ?? 'models', repo.split('/')[1]!);
  const required = whisperModelFiles(options.quantized ?? false);
  const url = (revision: string, file: string) => `${baseUrl}/${repo}/resolve/${revision}/${file}`;

  const policy = options.retry ?? MODEL_FETCH_RETRY;
  const probe = (target: string) => retry(() => probeRemoteFile(target), policy);
  const first = await probe(url('main', required[0]!));
  const revision = first.commit ?? 'main';
  const files: string[] = [];
  const remotes: RemoteFile[] = [];
  for (const file of required) {
    files.push(file);
    remotes.push(await probe(url(revision, file)));
  }
  for (const file of externalDataFiles(required)) {
    try {
      remotes.push(await probe(url(revision, file)));
      files.push(file);
    } catch (error) {
      if (!(error instanceof RemoteFileNotFoundError)) throw error;
    }
  }

  const fetched: FetchedFile[] = [];
  for (const [index, file] of files.entries()) {
    const remote = remotes[index]!;
    const outcome = await downloadFile({
      remote,
      dest: join(modelDir, file),
      file,
      retry: policy,
      onProgress: options.onProgress,
    });
    options.onFile?.(file, outcome, remote);
    fetched.push({ file, bytes: remote.size, sha256: remote.sha256, outcome });
  }
  return { repo, commit: first.commit, modelDir, files: fetched };
}
