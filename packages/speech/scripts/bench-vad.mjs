#!/usr/bin/env node
// VAD cost per second of audio, single thread: the model alone, and the Segmenter fed 20 ms chunks as
// stream-ingest feeds it. Run after `pnpm build`: node packages/speech/scripts/bench-vad.mjs [model.onnx]
import console from 'node:console';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { URL } from 'node:url';
import { SileroVad, Segmenter, VAD_WINDOW_SAMPLES } from '../dist/index.js';

const fixture = (n) => {
  const bytes = readFileSync(new URL(`../fixtures/phrase-${n}.s16le`, import.meta.url));
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
};
// 60 s of phrases with quiet noise between them, like one side of a call.
const parts = [];
let length = 0;
for (let i = 0; length < 60 * 16000; i++) {
  const speech = fixture((i % 3) + 1);
  const gap = Int16Array.from({ length: 16000 }, () => Math.round((Math.random() * 2 - 1) * 100));
  parts.push(speech, gap);
  length += speech.length + gap.length;
}
const audio = new Int16Array(length);
parts.reduce((at, part) => (audio.set(part, at), at + part.length), 0);
const seconds = audio.length / 16000;

const vad = await SileroVad.load(process.argv[2] ? { modelPath: process.argv[2] } : {});

async function modelOnly() {
  const stream = vad.createStream();
  for (let i = 0; i + VAD_WINDOW_SAMPLES <= audio.length; i += VAD_WINDOW_SAMPLES) {
    await stream.speechProbability(audio.subarray(i, i + VAD_WINDOW_SAMPLES));
  }
}

async function segmenter() {
  const segmenter = new Segmenter(vad, { streamId: 'bench' });
  for (let i = 0; i < audio.length; i += 320) await segmenter.push(audio.subarray(i, i + 320), i / 16);
  await segmenter.flush();
}

/** Wall and CPU time of `run`: on a busy machine CPU time still says what the work costs. */
async function timed(run) {
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  await run();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - wall, cpu: (used.user + used.system) / 1000 };
}

async function report(what, run) {
  const runs = [await timed(run), await timed(run), await timed(run)];
  const { wall, cpu } = runs.reduce((a, b) => (b.cpu < a.cpu ? b : a));
  const perSecond = (ms) => (ms / seconds).toFixed(2);
  console.log(
    `${what}: ${perSecond(cpu)} ms CPU per s of audio (${((seconds * 1000) / cpu).toFixed(0)}x real time), ` +
      `${perSecond(wall)} ms wall`,
  );
}

await modelOnly(); // warm-up
console.log(`${vad.modelPath} (Silero ${vad.modelVersion} I/O), ${seconds.toFixed(0)} s of audio, best of 3`);
await report('VAD model', modelOnly);
await report('Segmenter, 20 ms pushes', segmenter);
await vad.close();
