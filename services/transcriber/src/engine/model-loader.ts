import type { Logger } from '@calltx/runtime';
import { SileroVad } from '@calltx/speech';
import { ModelLoadError } from '@calltx/whisper';
import { Recognizer, type RecognizerOptions } from './recognizer.js';

export type ModelStatus =
  { state: 'loading' } | { state: 'ready'; modelId: string } | { state: 'failed'; reason: string };

export interface LoadedModels {
  recognizer: Recognizer;
  vad: SileroVad;
}

export interface ModelLoaderOptions {
  recognizer: RecognizerOptions;
  retryMs: number;
  logger: Logger;
  onStatus: (status: ModelStatus) => void;
}

/**
 * Loads the Whisper model (and the VAD for recordings), trying again every `retryMs` while it is missing or
 * corrupt: the replica stays alive and unready, saying what is wrong, instead of crash-looping, and becomes
 * ready by itself once the files are fixed (e.g. a model volume filled after the pod started).
 */
export class ModelLoader {
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: ModelLoaderOptions) {}

  /** Resolves with the models, or undefined when stopped before they could be loaded. */
  async run(): Promise<LoadedModels | undefined> {
    const { recognizer: recognizerOptions, retryMs, logger, onStatus } = this.options;
    onStatus({ state: 'loading' });
    for (let attempt = 1; !this.stopped; attempt++) {
      const started = performance.now();
      try {
        const vad = await SileroVad.load();
        const recognizer = await Recognizer.load(recognizerOptions);
        if (this.stopped) {
          await recognizer.release();
          return undefined;
        }
        logger.info(
          {
            modelId: recognizer.modelId,
            modelDir: recognizerOptions.modelDir,
            quantized: recognizerOptions.quantized,
            instances: recognizerOptions.instances,
            threads: recognizerOptions.threads,
            ms: Math.round(performance.now() - started),
          },
          'whisper model loaded',
        );
        onStatus({ state: 'ready', modelId: recognizer.modelId });
        return { recognizer, vad };
      } catch (error) {
        const reason = describeModelError(error, recognizerOptions.modelDir);
        logger.error(
          {
            err: error,
            reason,
            modelDir: recognizerOptions.modelDir,
            file: error instanceof ModelLoadError ? error.file : undefined,
            attempt,
            retryInMs: retryMs,
          },
          'whisper model could not be loaded; the replica stays unready and tries again',
        );
        onStatus({ state: 'failed', reason });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    return undefined;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}

/** What is wrong with the model, for logs and /readyz: the file, the problem and the directory. */
export function describeModelError(error: unknown, modelDir: string): string {
  if (error instanceof ModelLoadError) return `${error.message} (in ${modelDir})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
