import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import {
  DecoderSession,
  N_FRAMES,
  buildPrompt,
  loadWhisperModel,
  logMel,
  type WhisperModel,
} from '@calltx/whisper';
import { loadAverage, machineSummary } from './machine.js';

/**
 * `node tools/bench/dist/transcriber-levers.js`: the engine levers of issue 16 priced against the engine as it
 * runs, A and B interleaved round by round on the same sessions (the machine is shared, so only same-run
 * ratios mean anything):
 *
 * - batch: two utterances ready at the same moment through the encoder as one [2, 80, 3000] run, against two
 *   [1, 80, 3000] runs;
 * - preallocated: the encoder's output and the decoder's logits written into tensors allocated once (the
 *   onnxruntime-node form of IO binding: `run(feeds, { name: tensor })`), against fresh outputs per run;
 * - event loop: how long one encoder run holds the event loop (onnxruntime-node runs a session synchronously
 *   on the main thread), which is why a replica's inferences cannot overlap and replicas, not
 *   TRANSCRIBER_CONCURRENCY, are what use more cores.
 *
 * Last line: one JSON object of the ratios.
 */
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/whisper-tiny-random' },
    rounds: { type: 'string', default: '7' },
    threads: { type: 'string', default: '1' },
  },
});
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL_DIR = args.model.startsWith('/') ? args.model : `${REPO}${args.model}`;
const ROUNDS = Number(args.rounds);
const STEPS = 32;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function speech(): Float32Array {
  const bytes = readFileSync(`${REPO}packages/speech/fixtures/phrase-2.s16le`);
  const samples = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(2 * i) / 32768;
  return samples;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** A and B alternated (which goes first alternates too), `ROUNDS` each after one warm-up of both: medians. */
async function ab(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: number; b: number }> {
  await a();
  await b();
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      as.push(await time(a));
      bs.push(await time(b));
    } else {
      bs.push(await time(b));
      as.push(await time(a));
    }
  }
  return { a: median(as), b: median(bs) };
}

/** Cached decoder steps with the logits written into one preallocated tensor, or fresh each step. */
async function decodeSteps(model: WhisperModel, features: ort.Tensor, logits?: ort.Tensor): Promise<void> {
  const { decoderLayers, decoderHeads, dModel } = model.config;
  const names: string[] = [];
  for (let i = 0; i < decoderLayers; i++)
    for (const part of ['decoder', 'encoder'])
      for (const kv of ['key', 'value']) names.push(`${i}.${part}.${kv}`);
  const empty = new ort.Tensor('float32', new Float32Array(0), [1, decoderHeads, 0, dModel / decoderHeads]);
  const feeds: Record<string, ort.Tensor> = { encoder_hidden_states: features };
  for (const name of names) feeds[`past_key_values.${name}`] = empty;
  const prompt = buildPrompt(model, 'en', 'transcribe', false);
  for (let step = 0; step <= STEPS; step++) {
    const ids = step === 0 ? prompt : [220 + step];
    feeds['input_ids'] = new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
    feeds['use_cache_branch'] = new ort.Tensor('bool', [step > 0], [1]);
    // Only single-token steps have a fixed logits shape: the prompt step always gets fresh outputs.
    const fetches: ort.InferenceSession.FetchesType =
      logits && step > 0
        ? { logits, ...Object.fromEntries(names.map((name) => [`present.${name}`, null])) }
        : ['logits', ...names.map((name) => `present.${name}`)];
    const out = await model.decoder.run(feeds, fetches);
    for (const name of names) {
      if (step > 0 && name.includes('.encoder.')) continue;
      feeds[`past_key_values.${name}`] = out[`present.${name}`]!;
    }
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const model = await loadWhisperModel(MODEL_DIR, {
    quantized: true,
    intraOpNumThreads: Number(args.threads),
  });
  try {
    const { nMels, dModel, vocabSize } = model.config;
    const mel = logMel(speech(), new Float32Array(nMels * N_FRAMES), nMels).slice();
    const single = new ort.Tensor('float32', mel, [1, nMels, N_FRAMES]);
    const pair = new Float32Array(2 * mel.length);
    pair.set(mel);
    pair.set(mel, mel.length);
    const double = new ort.Tensor('float32', pair, [2, nMels, N_FRAMES]);
    const encoderOut = new ort.Tensor('float32', new Float32Array(1500 * dModel), [1, 1500, dModel]);

    // Preallocated outputs must hold the same values as fresh ones.
    const fresh = (await model.encoder.run({ input_features: single }))['last_hidden_state']!
      .data as Float32Array;
    const bound = (await model.encoder.run({ input_features: single }, { last_hidden_state: encoderOut }))[
      'last_hidden_state'
    ]!.data as Float32Array;
    if (fresh.some((v, i) => v !== bound[i])) throw new Error('preallocated encoder output differs');

    console.log(
      `engine levers: int8, ${args.threads} thread(s), ${cpus().length} cores (${cpus()[0]?.model}); load average ${loadAtStart}; medians of ${ROUNDS} interleaved rounds`,
    );
    const batch = await ab(
      async () => {
        await model.encoder.run({ input_features: single });
        await model.encoder.run({ input_features: single });
      },
      () => model.encoder.run({ input_features: double }),
    );
    const encoderBinding = await ab(
      () => model.encoder.run({ input_features: single }),
      () => model.encoder.run({ input_features: single }, { last_hidden_state: encoderOut }),
    );
    const features = await model.encode(mel);
    const logits = new ort.Tensor('float32', new Float32Array(vocabSize), [1, 1, vocabSize]);
    const decoderBinding = await ab(
      () => decodeSteps(model, features),
      () => decodeSteps(model, features, logits),
    );
    // The project's own decoder loop for reference: the same number of steps through DecoderSession.
    const prompt = buildPrompt(model, 'en', 'transcribe', false);
    const session = new DecoderSession(model, features, true);
    const sequence = [...prompt];
    const projectSteps = await time(async () => {
      await session.step(sequence);
      for (let i = 1; i <= STEPS; i++) {
        sequence.push(220 + i);
        await session.step(sequence);
      }
    });

    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = performance.now();
    const encodeMs = await time(() => model.encoder.run({ input_features: single }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(timer);

    console.log('| lever | A (as today) | B (lever) | B / A |');
    console.log('| --- | ---: | ---: | ---: |');
    const row = (name: string, unit: string, r: { a: number; b: number }) =>
      console.log(
        `| ${name} | ${r.a.toFixed(1)} ${unit} | ${r.b.toFixed(1)} ${unit} | ${(r.b / r.a).toFixed(2)} |`,
      );
    row('encoder: 2 utterances as 2 runs (A) or one batch of 2 (B)', 'ms', batch);
    row('encoder: fresh output (A) or preallocated (B)', 'ms', encoderBinding);
    row(
      `decoder: prompt + ${STEPS} cached steps, fresh logits (A) or preallocated (B)`,
      'ms',
      decoderBinding,
    );
    console.log(`\nDecoderSession, same ${STEPS + 1} steps: ${projectSteps.toFixed(1)} ms (one run).`);
    console.log(
      `One encoder run took ${encodeMs.toFixed(0)} ms; the longest the event loop went without running a 1 ms timer meanwhile: ${maxGap.toFixed(0)} ms.`,
    );
    const ratio = (r: { a: number; b: number }) => Number((r.b / r.a).toFixed(3));
    console.log(
      JSON.stringify({
        bench: 'transcriber-levers',
        machine: machineSummary(loadAtStart),
        threads: Number(args.threads),
        rounds: ROUNDS,
        encoderBatchOf2Ratio: ratio(batch),
        encoderPreallocatedRatio: ratio(encoderBinding),
        decoderPreallocatedLogitsRatio: ratio(decoderBinding),
        encoderMs: Math.round(encodeMs),
        eventLoopBlockedMs: Math.round(maxGap),
      }),
    );
  } finally {
    await model.release();
  }
}

await main();
