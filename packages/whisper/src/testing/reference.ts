import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed random test model (tools/whisper-model-gen --preset test) and its PyTorch reference outputs. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/whisper-test-random', import.meta.url));
export const REFERENCE_DIR = join(FIXTURE_DIR, 'reference');
/**
 * The same model in the onnx-community `_timestamped` layout (`--timestamped`: the decoder also returns
 * `cross_attentions.{i}`), without the int8 graphs; its reference adds openai-whisper's word timings computed in
 * PyTorch (tools/whisper-model-gen/timing.py).
 */
export const TIMESTAMPED_FIXTURE_DIR = fileURLToPath(
  new URL('../../fixtures/whisper-test-timestamped', import.meta.url),
);

/**
 * A scripted test model (tools/whisper-model-gen --scripted): the `_timestamped` layout and the test tokenizer, but
 * it says one of its scripted sentences whatever the audio, chosen by the speech duration. A fixture for tests that
 * need real words; it recognises nothing.
 */
export const SCRIPTED_FIXTURE_DIR = fileURLToPath(
  new URL('../../fixtures/whisper-test-scripted', import.meta.url),
);

/**
 * A scripted model whose sentences hold personal data (a card number, a phone number, an email; written and said
 * as words), for the transcriber's redaction test. `--n-text-ctx 256`, so the longer sentences fit the token budget.
 */
export const PII_SCRIPTED_FIXTURE_DIR = fileURLToPath(
  new URL('../../fixtures/whisper-test-pii', import.meta.url),
);

export interface ModelScript {
  /** Script i is said for i * bucketSeconds up to (i + 1) * bucketSeconds of speech; the last one beyond. */
  bucketSeconds: number;
  scripts: { text: string; tokens: number[] }[];
}

export async function readModelScript(dir = SCRIPTED_FIXTURE_DIR): Promise<ModelScript> {
  return JSON.parse(await readFile(join(dir, 'script.json'), 'utf8')) as ModelScript;
}

/** `seconds` of a 220 Hz tone (amplitude 0.3) between `padSeconds` of silence each side: speech to the scripted model. */
export function scriptedUtterance(seconds: number, padSeconds = 0.3): Float32Array {
  const pad = Math.round(padSeconds * 16_000);
  const samples = new Float32Array(Math.round(seconds * 16_000) + 2 * pad);
  for (let i = pad; i < samples.length - pad; i++)
    samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16_000);
  return samples;
}

export interface ReferenceAudio {
  name: string;
  pcmFile: string;
  samples: number;
  logMelFile: string;
  /** Frames stored in logMelFile; every later frame holds tail.min (== tail.max). */
  signalFrames: number;
  tail: { min: number; max: number };
  stats: { mean: number; min: number; max: number; sumAbs: number };
  encoder: { frame0: number[]; frame700: number[]; mean: number; std: number };
  detectedLanguage: string | null;
}

export interface ReferenceDecode {
  audio: string;
  language: string | null;
  task: 'transcribe' | 'translate' | null;
  withTimestamps: boolean;
  maxNewTokens: number;
  prompt: number[];
  tokensNoCache: number[];
  tokensKvCache: number[];
  text: string;
  stopReason: 'eot' | 'max-tokens';
  noSpeechProb: number;
  sumLogProb: number;
  avgLogProb: number;
  minTop1Margin: number;
  firstStepLogits: number[];
  /** Timestamped fixture only: the words of the decoded text, timed by the reference. */
  words?: ReferenceWord[];
}

export interface ReferenceWord {
  text: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  probability: number;
  tokens: number[];
}

/** Timestamped fixture only: forced alignment of a given text (real words, punctuation, a Japanese line). */
export interface ReferenceAlignment {
  audio: string;
  language: string;
  text: string;
  tokens: number[];
  words: ReferenceWord[];
}

export interface Reference {
  dims: { n_mels: number; n_audio_state: number; n_vocab: number; n_text_ctx: number };
  melFilters: { nMels: number; sum: number; row10: number[] };
  audios: ReferenceAudio[];
  decodes: ReferenceDecode[];
  alignments?: ReferenceAlignment[];
  eot: number;
}

export async function loadReference(fixtureDir = FIXTURE_DIR): Promise<Reference> {
  return JSON.parse(await readFile(join(fixtureDir, 'reference', 'reference.json'), 'utf8')) as Reference;
}

export function referenceAudio(ref: Reference, name: string): ReferenceAudio {
  const audio = ref.audios.find((a) => a.name === name);
  if (!audio) throw new Error(`no reference audio ${name}`);
  return audio;
}

/** The reference clip as float samples (int16 / 32768, as the generator converted it). */
export async function readReferencePcm(audio: ReferenceAudio): Promise<Float32Array> {
  const bytes = await readFile(join(REFERENCE_DIR, audio.pcmFile));
  const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return Float32Array.from(pcm, (s) => s / 32768);
}

/** The reference log-mel, [nMels, signalFrames] row-major. */
export async function readReferenceLogMel(audio: ReferenceAudio): Promise<Float32Array> {
  const bytes = await readFile(join(REFERENCE_DIR, audio.logMelFile));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** A scratch copy of the fixture model that a test may break; `edit` rewrites one JSON file. */
export async function copyFixture(): Promise<{
  dir: string;
  editJson: (file: string, change: (json: Record<string, unknown>) => void) => Promise<void>;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'whisper-fixture-'));
  await cp(FIXTURE_DIR, dir, { recursive: true, filter: (src) => !src.startsWith(REFERENCE_DIR) });
  return {
    dir,
    async editJson(file, change) {
      const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
      change(json);
      await writeFile(join(dir, file), JSON.stringify(json));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
