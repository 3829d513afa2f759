import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import SrtParser from 'srt-parser-2';
import { WebVTTParser, type CueNode } from 'webvtt-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@calltx/devstack';
import { hashApiKey } from '@calltx/api';
import { prepareCallAudio, type CallAudioSource } from '@calltx/twilio-sim';
import { root, SAMPLE_CALL, System } from './testing/system.js';

/**
 * Real words end to end: calls streamed through gateway, stream-ingest and the transcriber — on the scripted test
 * model, which says sentences of its script.json whatever the audio (it recognises nothing) — into the api, then
 * read back as a user would: search, exports, word timings.
 */
const API_KEY = 'ctx_scripted_words_reader_0123456789';
const SCRIPTED_MODEL = root('packages/whisper/fixtures/whisper-test-scripted');

const script = (
  JSON.parse(readFileSync(`${SCRIPTED_MODEL}/script.json`, 'utf8')) as { scripts: Array<{ text: string }> }
).scripts.map((s) => s.text.trim());

// The W3C parser's full table of named character references (its default one is incomplete).
const htmlEntities = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('webvtt-parser/html-entities.json'), 'utf8'),
) as Record<string, string>;

/** The share of 20 ms frames in [startMs, endMs) where a channel (8 kHz) is louder than -40 dBFS. */
function loudFraction(pcm: Int16Array, { startMs, endMs }: { startMs: number; endMs: number }): number {
  let frames = 0;
  let loud = 0;
  for (let at = startMs * 8; at + 160 <= Math.min(endMs * 8, pcm.length); at += 160) {
    let energy = 0;
    for (let i = at; i < at + 160; i++) energy += pcm[i]! * pcm[i]!;
    frames += 1;
    if (energy / 160 > 1e5) loud += 1;
  }
  return frames === 0 ? 0 : loud / frames;
}

let system: System;

beforeAll(async () => {
  system = await System.start({
    label: 'words',
    env: {
      WHISPER_MODEL_DIR: SCRIPTED_MODEL,
      WHISPER_LANGUAGE: 'en',
      API_KEYS: `reader:${hashApiKey(API_KEY)}`,
    },
  });
  for (const name of ['gateway', 'stream-ingest', 'transcriber', 'api'] as const) await system.start(name);
}, 120_000);

afterAll(() => system?.stop());

async function get(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${system.url('api')}/api/v1${path}`, { headers: { 'x-api-key': API_KEY } });
  return { status: response.status, text: await response.text() };
}

interface Word {
  text: string;
  startMs: number;
  endMs: number;
}
interface Utterance {
  speaker: string;
  startMs: number;
  endMs: number;
  text: string;
  words?: Word[];
}

async function transcriptOf(callSid: string): Promise<Utterance[]> {
  const r = await get(`/calls/${callSid}/transcript?source=live`);
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { utterances: Utterance[] }).utterances;
}

/** Streams a call through the gateway as Twilio would, at 4× speed. */
async function call(wav: CallAudioSource): Promise<string> {
  return (await system.call({ wav, speed: 4 })).callSid;
}

describe('real words, end to end (scripted test model)', () => {
  it('finds the call by its words, exports its sentences by speaker and time, words timed inside their utterance', async () => {
    const sample = await prepareCallAudio(SAMPLE_CALL);
    // A second call, whose agent says one short thing and whose technician says nothing.
    const short = sample.pcm.agent.slice(Math.round(6.1 * 8000), Math.round(6.9 * 8000));
    const other = await call({
      sampleRate: 8000,
      agent: Int16Array.from([...new Int16Array(8000), ...short, ...new Int16Array(16000)]),
      technician: new Int16Array(8000 * 3 + short.length),
    });
    const scripted = await call(sample);

    // The sample has five turns per speaker; each becomes at least one final.
    const utterances = await eventually(async () => {
      const found = await transcriptOf(scripted);
      for (const speaker of ['agent', 'technician'])
        expect(found.filter((u) => u.speaker === speaker).length).toBeGreaterThanOrEqual(5);
      return found;
    }, 90_000);
    const otherUtterances = await eventually(async () => {
      const found = await transcriptOf(other);
      expect(found.length).toBeGreaterThan(0);
      return found;
    }, 30_000);

    // Both speakers merged in time order; every utterance says a sentence of the script, with its words timed
    // inside it and in order, and its speaker's own channel of the call audio speaks through most of it.
    expect(utterances.map((u) => u.startMs)).toEqual(
      [...utterances.map((u) => u.startMs)].sort((a, b) => a - b),
    );
    for (const u of utterances) {
      expect(script).toContain(u.text);
      expect(
        u
          .words!.map((w) => w.text)
          .join('')
          .trim(),
      ).toBe(u.text);
      let last = u.startMs;
      for (const w of u.words!) {
        expect(w.startMs).toBeGreaterThanOrEqual(last);
        expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
        expect(w.endMs).toBeLessThanOrEqual(u.endMs);
        last = w.startMs;
      }
      const speaking = loudFraction(u.speaker === 'agent' ? sample.pcm.agent : sample.pcm.technician, u);
      expect(speaking, `${u.speaker} at ${u.startMs} ms`).toBeGreaterThanOrEqual(0.5);
    }
    // The long turns (three seconds of speech and more) say the script's last sentence.
    const longest = script.at(-1)!;
    expect(
      utterances
        .filter((u) => u.text === longest)
        .map((u) => u.speaker)
        .sort(),
    ).toEqual(['agent', 'technician']);
    expect(otherUtterances.map((u) => u.text)).toEqual([script[0]]);

    // Search finds the call by its words, and not the other one, which is listed all the same.
    const listed = JSON.parse((await get('/calls')).text) as { calls: Array<{ callSid: string }> };
    expect(listed.calls.map((c) => c.callSid).sort()).toEqual([scripted, other].sort());
    const found = JSON.parse((await get(`/calls?q=${encodeURIComponent('good morning')}`)).text) as {
      calls: Array<{ callSid: string; match: { snippet: Array<{ text: string; highlight: boolean }> } }>;
    };
    expect(found.calls.map((c) => c.callSid)).toEqual([scripted]);
    expect(found.calls[0]!.match.snippet.filter((p) => p.highlight).map((p) => p.text)).toEqual([
      'good',
      'morning',
    ]);

    // The exports hold the same sentences, speakers and times, as parsers of each format read them.
    const vtt = await get(`/calls/${scripted}/transcript?format=vtt&source=live`);
    const tree = new WebVTTParser(htmlEntities).parse(vtt.text, 'subtitles');
    expect(tree.errors).toEqual([]);
    const textOf = (nodes: CueNode[]): string =>
      nodes
        .map((n) => (n.type === 'text' ? n.value : n.type === 'object' ? textOf(n.children) : ''))
        .join('');
    const expected = utterances.map((u) => ({
      speaker: u.speaker,
      startMs: u.startMs,
      endMs: u.endMs,
      text: u.text,
    }));
    expect(
      tree.cues.map((cue) => {
        const voice = cue.tree.children[0];
        return {
          speaker: voice?.type === 'object' && voice.name === 'v' ? voice.value : undefined,
          startMs: Math.round(cue.startTime * 1000),
          endMs: Math.round(cue.endTime * 1000),
          text: textOf(cue.tree.children),
        };
      }),
    ).toEqual(expected);
    const srt = new SrtParser().fromSrt(
      (await get(`/calls/${scripted}/transcript?format=srt&source=live`)).text,
    );
    expect(
      srt.map((cue) => ({
        startMs: Math.round(cue.startSeconds * 1000),
        endMs: Math.round(cue.endSeconds * 1000),
        text: cue.text,
      })),
    ).toEqual(
      expected.map(({ speaker, startMs, endMs, text }) => ({ startMs, endMs, text: `${speaker}: ${text}` })),
    );
  }, 180_000);
});
