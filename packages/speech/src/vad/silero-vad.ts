import { CalltxError } from '@calltx/events';
import { existsSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { resolveModelFile, SILERO_VAD_V6, VadModelNotFoundError, type ModelSource } from './model-file.js';

export const VAD_SAMPLE_RATE = 16_000;
/** Samples per VAD window at 16 kHz: the only size Silero v5+ accepts there (32 ms). */
export const VAD_WINDOW_SAMPLES = 512;

/** The graph's inputs and outputs are not a Silero VAD's: the same file fails again. */
export class UnsupportedVadModelError extends CalltxError {
  override readonly name = 'UnsupportedVadModelError';

  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** onnxruntime failed on a window: like Whisper's inference, a later try may succeed (e.g. memory pressure). */
export class VadInferenceError extends CalltxError {
  override readonly name = 'VadInferenceError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: true });
  }
}

/** How a Silero graph is fed: v5+ carries one state tensor and wants the previous window's tail as context. */
interface GraphLayout {
  readonly version: 'v5' | 'v4';
  readonly contextSamples: number;
  readonly recurrent: readonly {
    readonly input: string;
    readonly output: string;
    readonly dims: readonly number[];
  }[];
}

const LAYOUTS: readonly GraphLayout[] = [
  { version: 'v5', contextSamples: 64, recurrent: [{ input: 'state', output: 'stateN', dims: [2, 1, 128] }] },
  {
    version: 'v4',
    contextSamples: 0,
    recurrent: [
      { input: 'h', output: 'hn', dims: [2, 1, 64] },
      { input: 'c', output: 'cn', dims: [2, 1, 64] },
    ],
  },
];

function layoutOf(session: InferenceSession): GraphLayout | undefined {
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((name) => b.includes(name));
  return LAYOUTS.find(
    (layout) =>
      same(session.inputNames, ['input', 'sr', ...layout.recurrent.map((r) => r.input)]) &&
      same(session.outputNames, ['output', ...layout.recurrent.map((r) => r.output)]),
  );
}

export interface SileroVadOptions {
  /** Package and file to load the model from; default SILERO_VAD_V6. */
  model?: ModelSource;
  /** An explicit .onnx file instead of `model`. */
  modelPath?: string;
  /** ONNX Runtime threads inside one inference; default 1 (windows are tiny, streams give the parallelism). */
  intraOpNumThreads?: number;
}

/**
 * One ONNX Runtime session over a Silero VAD model. Sessions are costly and stateless; every audio
 * stream gets its own recurrent state from `createStream()`.
 */
export class SileroVad {
  private constructor(
    private readonly session: InferenceSession,
    private readonly layout: GraphLayout,
    readonly modelPath: string,
  ) {}

  static async load(options: SileroVadOptions = {}): Promise<SileroVad> {
    const modelPath = options.modelPath ?? resolveModelFile(options.model ?? SILERO_VAD_V6);
    if (!existsSync(modelPath)) throw new VadModelNotFoundError(`VAD model file ${modelPath} does not exist`);
    const session = await InferenceSession.create(modelPath, {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The if-less export carries unused initializers that ORT warns about at every load.
      logSeverityLevel: 3,
    });
    const layout = layoutOf(session);
    if (!layout) {
      await session.release();
      throw new UnsupportedVadModelError(
        `${modelPath} is not a Silero VAD graph this package can feed: inputs [${session.inputNames.join(', ')}], ` +
          `outputs [${session.outputNames.join(', ')}]; expected v5+ (input, state, sr -> output, stateN) ` +
          `or v4 (input, sr, h, c -> output, hn, cn)`,
      );
    }
    return new SileroVad(session, layout, modelPath);
  }

  /** 'v5' covers v5 and v6, which share their inputs and outputs. */
  get modelVersion(): 'v5' | 'v4' {
    return this.layout.version;
  }

  createStream(): VadStream {
    return new VadStream(this.session, this.layout);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The recurrent state of one audio stream. Windows must be fed in order, one at a time. All tensors are
 * allocated once: states are double-buffered and ORT writes outputs into preallocated fetches.
 */
export class VadStream {
  private readonly input: Float32Array;
  private readonly states: Float32Array[] = [];
  private readonly probability = new Float32Array(1);
  /** feeds[p] reads state set p and fetches[p] writes set 1-p; p flips after every window. */
  private readonly feeds: Record<string, Tensor>[] = [{}, {}];
  private readonly fetches: Record<string, Tensor>[] = [{}, {}];
  private parity = 0;
  private running = false;

  constructor(
    private readonly session: InferenceSession,
    private readonly layout: GraphLayout,
  ) {
    const inputLength = layout.contextSamples + VAD_WINDOW_SAMPLES;
    this.input = new Float32Array(inputLength);
    const input = new Tensor('float32', this.input, [1, inputLength]);
    const sr = new Tensor('int64', BigInt64Array.of(BigInt(VAD_SAMPLE_RATE)), []);
    const output = new Tensor('float32', this.probability, [1, 1]);
    for (const p of [0, 1] as const) Object.assign(this.feeds[p]!, { input, sr });
    for (const p of [0, 1] as const) Object.assign(this.fetches[p]!, { output });
    for (const { input: inName, output: outName, dims } of layout.recurrent) {
      const size = dims.reduce((a, b) => a * b, 1);
      const pair = [new Float32Array(size), new Float32Array(size)] as const;
      this.states.push(...pair);
      this.feeds[0]![inName] = new Tensor('float32', pair[0], dims);
      this.fetches[0]![outName] = new Tensor('float32', pair[1], dims);
      this.feeds[1]![inName] = new Tensor('float32', pair[1], dims);
      this.fetches[1]![outName] = new Tensor('float32', pair[0], dims);
    }
  }

  /**
   * Speech probability of the first VAD_WINDOW_SAMPLES samples of `window`. An all-zero window (digital
   * silence, or a gap filled with zeros) is 0 without inference and resets the state, so a stream that
   * resumes after a gap starts fresh rather than from context that no longer adjoins it.
   */
  async speechProbability(window: Int16Array): Promise<number> {
    if (window.length < VAD_WINDOW_SAMPLES) {
      throw new RangeError(`a VAD window is ${VAD_WINDOW_SAMPLES} samples, got ${window.length}`);
    }
    if (this.running) throw new Error('VadStream windows must be fed one at a time');
    const context = this.layout.contextSamples;
    let silent = true;
    this.input.copyWithin(0, VAD_WINDOW_SAMPLES, VAD_WINDOW_SAMPLES + context);
    for (let i = 0; i < VAD_WINDOW_SAMPLES; i++) {
      const sample = window[i]!;
      if (sample !== 0) silent = false;
      this.input[context + i] = sample / 32768;
    }
    if (silent) {
      this.reset();
      return 0;
    }
    this.running = true;
    try {
      await this.session.run(this.feeds[this.parity]!, this.fetches[this.parity]!);
    } catch (cause) {
      throw new VadInferenceError('Silero VAD inference failed', { cause });
    } finally {
      this.running = false;
    }
    this.parity ^= 1;
    return this.probability[0]!;
  }

  reset(): void {
    for (const state of this.states) state.fill(0);
    this.input.fill(0);
    this.parity = 0;
  }
}
