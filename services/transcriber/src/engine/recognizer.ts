import { basename, resolve } from 'node:path';
import { CalltxError } from '@calltx/events';
import {
  CHUNK_SAMPLES,
  encodePrevious,
  type TranscribeTiming,
  loadWhisperModel,
  transcribe,
  TranscribeInputError,
  type TranscribeOptions,
  type WhisperModel,
} from '@calltx/whisper';

export interface RecognizerOptions {
  modelDir: string;
  quantized: boolean;
  /** Inferences at once: one model instance (ONNX sessions) each, since a model runs one utterance at a time. */
  instances: number;
  threads: number;
  /** Empty: English-only models use English, multilingual ones detect the language. */
  language: string;
  /** Default previous-text prompt (WHISPER_PROMPT); empty: none. */
  prompt: string;
}

/** How a call is decoded: its language (absent: detected) and its previous-text prompt tokens. */
export interface DecodeSettings {
  language?: string;
  previous: readonly number[];
}

/** A call's setting the model cannot serve, which the defaults replace. */
export interface UnusableSetting {
  field: 'language' | 'hints';
  reason: string;
}

/** Times in ms from the start of the recognised audio. */
export interface TimedText {
  startMs: number;
  endMs: number;
  text: string;
}

export interface RecognisedWord extends TimedText {
  probability: number;
}

export interface Recognition {
  text: string;
  inferenceMs: number;
  /** inferenceMs split by stage, summed over the 30 s windows. */
  stages: TranscribeTiming;
  /** The decoder's prompt (of the first 30 s window): what the language and hints became. */
  prompt: number[];
}

/** A final's recognition: what Whisper says about the text besides the text. */
export interface DetailedRecognition extends Recognition {
  /** Configured, else detected (English-only models: "en"). */
  language: string;
  avgLogprob: number;
  noSpeechProb: number;
  segments: TimedText[];
  /** Absent when the model cannot time words. */
  words?: RecognisedWord[];
}

/** The model cannot serve this service's configuration (e.g. a language an English-only model lacks). */
export class ModelUnusableError extends CalltxError {}

const toMs = (seconds: number): number => Math.round(seconds * 1000);
const STAGES = ['logMelMs', 'encoderMs', 'decoderMs', 'wordsMs'] as const;

/** Inference failed on one utterance: a redelivery may succeed (e.g. after memory pressure), so retryable. */
export class RecognitionError extends CalltxError {
  constructor(cause: unknown) {
    // Input the engine refuses fails again on every delivery.
    super('whisper inference failed', { cause, retryable: !(cause instanceof TranscribeInputError) });
  }
}

/**
 * Speech to text over a pool of identical Whisper model instances. Callers bound their own concurrency
 * (the work slots); an instance is taken per call and handed back.
 */
export class Recognizer {
  private readonly idle: WhisperModel[];
  private readonly waiting: Array<(model: WhisperModel) => void> = [];

  private constructor(
    private readonly models: WhisperModel[],
    readonly modelId: string,
    /** WHISPER_LANGUAGE and WHISPER_PROMPT, checked against the model. */
    readonly defaults: DecodeSettings,
  ) {
    this.idle = [...models];
  }

  /** Loads every instance; throws ModelLoadError (naming the file) or ModelUnusableError. */
  static async load(options: RecognizerOptions): Promise<Recognizer> {
    const models: WhisperModel[] = [];
    try {
      for (let i = 0; i < options.instances; i++) {
        models.push(
          await loadWhisperModel(options.modelDir, {
            quantized: options.quantized,
            intraOpNumThreads: options.threads,
            interOpNumThreads: 1,
          }),
        );
      }
      const { config } = models[0]!;
      const language = options.language || (config.isMultilingual ? undefined : 'en');
      if (language !== undefined && config.isMultilingual && !config.languages.has(language)) {
        throw new ModelUnusableError(`WHISPER_LANGUAGE "${language}" is not one of this model's languages`);
      }
      if (language !== undefined && language !== 'en' && !config.isMultilingual) {
        throw new ModelUnusableError(
          `the model is English-only; WHISPER_LANGUAGE "${language}" needs a multilingual one`,
        );
      }
      let previous: number[];
      try {
        previous = encodePrevious(models[0]!, options.prompt);
      } catch (cause) {
        throw new ModelUnusableError(`WHISPER_PROMPT cannot be used: ${(cause as Error).message}`, { cause });
      }
      const modelId = `${basename(resolve(options.modelDir))}${options.quantized ? ':int8' : ''}`;
      return new Recognizer(models, modelId, { ...(language ? { language } : {}), previous });
    } catch (error) {
      await Promise.all(models.map((model) => model.release()));
      throw error;
    }
  }

  /** Whether finals will carry word timings (the model is a `_timestamped` export with alignment heads). */
  get wordTiming(): boolean {
    return this.models[0]!.wordTiming;
  }

  /**
   * A call's settings as this model can serve them: a language it lacks, or hints it cannot encode, give way to
   * the default, and are named in `unusable`.
   */
  settingsFor(call: { language?: string | null; hints?: string | null }): {
    settings: DecodeSettings;
    unusable: UnusableSetting[];
  } {
    const { config } = this.models[0]!;
    const unusable: UnusableSetting[] = [];
    let { language } = this.defaults;
    if (call.language) {
      if (config.isMultilingual ? config.languages.has(call.language) : call.language === 'en')
        language = call.language;
      else
        unusable.push({
          field: 'language',
          reason: config.isMultilingual ? 'not one of the model’s languages' : 'the model is English-only',
        });
    }
    let { previous } = this.defaults;
    if (call.hints) {
      try {
        previous = encodePrevious(this.models[0]!, call.hints);
      } catch (error) {
        unusable.push({ field: 'hints', reason: (error as Error).message });
      }
    }
    return { settings: { ...(language ? { language } : {}), previous }, unusable };
  }

  /** A partial's text: no timestamps, no word timing (neither is published for partials). */
  async recognize(pcm16k: Int16Array, settings = this.defaults): Promise<Recognition> {
    const { text, inferenceMs, stages, prompt } = await this.run(pcm16k, {
      ...settings,
      withTimestamps: false,
      wordTimestamps: false,
    });
    return { text, inferenceMs, stages, prompt };
  }

  /** A final's text with Whisper's segments, language, confidence and, when the model can, word timings. */
  recognizeDetailed(pcm16k: Int16Array, settings = this.defaults): Promise<DetailedRecognition> {
    return this.run(pcm16k, { ...settings, withTimestamps: true, wordTimestamps: true });
  }

  /**
   * Transcribes 16 kHz mono PCM; audio past Whisper's 30 s window is transcribed window by window, and the
   * windows' figures are averaged weighted by their length.
   */
  private async run(
    pcm16k: Int16Array,
    { language, previous, ...rest }: DecodeSettings & TranscribeOptions,
  ): Promise<DetailedRecognition> {
    const options: TranscribeOptions = {
      ...rest,
      task: 'transcribe',
      ...(language ? { language } : {}),
      ...(previous.length > 0 ? { previous } : {}),
    };
    const model = await this.take();
    const started = performance.now();
    try {
      const texts: string[] = [];
      const segments: TimedText[] = [];
      const words: RecognisedWord[] = [];
      let decoded: string | undefined;
      let prompt: number[] | undefined;
      let avgLogprob = 0;
      let noSpeechProb = 0;
      const stages: TranscribeTiming = { logMelMs: 0, encoderMs: 0, decoderMs: 0, wordsMs: 0 };
      for (let from = 0; from < pcm16k.length || from === 0; from += CHUNK_SAMPLES) {
        const window = pcm16k.subarray(from, Math.min(pcm16k.length, from + CHUNK_SAMPLES));
        const samples = new Float32Array(window.length);
        for (let i = 0; i < window.length; i++) samples[i] = window[i]! / 32768;
        const result = await transcribe(model, samples, options);
        if (result.text) texts.push(result.text);
        for (const stage of STAGES) stages[stage] += result.timing[stage];
        const offsetMs = from / 16;
        const weight = pcm16k.length === 0 ? 1 : window.length / pcm16k.length;
        decoded ??= result.language ?? 'en';
        prompt ??= result.prompt;
        avgLogprob += weight * result.avgLogProb;
        noSpeechProb += weight * result.noSpeechProb;
        for (const s of result.segments)
          segments.push({ startMs: offsetMs + toMs(s.start), endMs: offsetMs + toMs(s.end), text: s.text });
        for (const w of result.words ?? [])
          words.push({
            text: w.text,
            startMs: offsetMs + toMs(w.start),
            endMs: offsetMs + toMs(w.end),
            probability: w.probability,
          });
      }
      return {
        text: texts.join(' '),
        inferenceMs: Math.round(performance.now() - started),
        stages,
        language: decoded!,
        prompt: prompt!,
        avgLogprob,
        noSpeechProb,
        segments,
        ...(model.wordTiming ? { words } : {}),
      };
    } catch (error) {
      throw new RecognitionError(error);
    } finally {
      this.give(model);
    }
  }

  async release(): Promise<void> {
    await Promise.all(this.models.map((model) => model.release()));
  }

  private take(): Promise<WhisperModel> {
    const model = this.idle.pop();
    if (model) return Promise.resolve(model);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(model: WhisperModel): void {
    const next = this.waiting.shift();
    if (next) next(model);
    else this.idle.push(model);
  }
}
