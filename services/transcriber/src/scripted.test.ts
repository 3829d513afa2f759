import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readModelScript,
  SCRIPTED_FIXTURE_DIR,
  scriptedUtterance,
  type ModelScript,
} from '@calltx/whisper/testing';
import {
  eventually,
  sid,
  startStack,
  startTranscriber,
  type RunningTranscriber,
  type TranscriberStack,
} from './testing/harness.js';

interface Word {
  text: string;
  startMs: number;
  endMs: number;
  probability: number;
}

let stack: TranscriberStack;
let running: RunningTranscriber;
let script: ModelScript;

beforeAll(async () => {
  stack = await startStack();
  running = await startTranscriber(stack, {
    WHISPER_MODEL_DIR: SCRIPTED_FIXTURE_DIR,
    WHISPER_LANGUAGE: 'en',
  });
  await running.transcriber.consuming;
  script = await readModelScript();
});
afterAll(async () => {
  await running?.stop();
  await stack?.close();
});

const toPcm = (samples: Float32Array) => Int16Array.from(samples, (s) => Math.round(s * 32767));

describe('live finals with the scripted test model', () => {
  it('carry the scripted words of each utterance, timed inside the utterance, in call time', async () => {
    const callSid = sid('CA');
    // Utterance n of each speaker says script n (its speech lasts n + 0.5 buckets).
    const plan = [
      { speaker: 'agent', sequence: 0, script: 0, startMs: 500 },
      { speaker: 'technician', sequence: 0, script: 1, startMs: 2500 },
      { speaker: 'agent', sequence: 1, script: 2, startMs: 5000 },
    ];
    for (const u of plan) {
      await stack.publishSegment({
        callSid,
        speaker: u.speaker,
        segmentId: `${callSid}:${u.speaker}:0:${u.sequence}`,
        sequence: u.sequence,
        final: true,
        startMs: u.startMs,
        pcm: toPcm(scriptedUtterance((u.script + 0.5) * script.bucketSeconds)),
      });
    }
    const finals = await eventually(async () => {
      const found = (await stack.transcripts()).filter((m) => m.json.callSid === callSid);
      expect(found).toHaveLength(plan.length);
      return found;
    }, 30_000);

    for (const u of plan) {
      const final = finals.find((m) => m.json.speaker === u.speaker && m.json.sequence === u.sequence)!.json;
      const expected = script.scripts[u.script]!.text;
      expect(final).toMatchObject({
        type: 'transcript.final.v1',
        text: expected.trim(),
        modelId: 'whisper-test-scripted',
        language: 'en',
        segments: [{ text: expected.trim() }],
      });
      expect(final.avgLogprob as number).toBeGreaterThan(-0.01);
      expect(final.noSpeechProb as number).toBeLessThan(0.01);
      const words = final.words as Word[];
      expect(words.map((w) => w.text).join('')).toBe(expected);
      const [start, end] = [final.startMs as number, final.endMs as number];
      expect(start).toBe(u.startMs);
      const speechEnd = start + 300 + (u.script + 0.5) * script.bucketSeconds * 1000;
      for (const [k, w] of words.entries()) {
        expect(w.startMs).toBeGreaterThanOrEqual(start);
        expect(w.endMs).toBeLessThanOrEqual(speechEnd + 100);
        expect(w.endMs).toBeLessThanOrEqual(end);
        expect(w.startMs).toBeLessThanOrEqual(w.endMs);
        if (k > 0) expect(w.startMs).toBeGreaterThanOrEqual(words[k - 1]!.endMs - 20);
        expect(w.probability).toBeGreaterThan(0.99);
      }
      expect(words.at(-1)!.endMs).toBeGreaterThan((start + speechEnd) / 2);
    }
  });
});
