import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePrevious, loadWhisperModel, maxPreviousTokens, type WhisperModel } from '@calltx/whisper';
import { concat, phrase, silence, wavFile } from './testing/audio.js';
import {
  eventually,
  metricValue,
  sid,
  startStack,
  startTranscriber,
  TEST_MODEL_DIR,
  type RunningTranscriber,
  type TranscriberStack,
} from './testing/harness.js';

/**
 * A call's language and hints come from its call.started event: its live utterances (partials and finals) and its
 * recording are decoded with that language's token and the hints as the previous-text prompt.
 */
let stack: TranscriberStack;
let running: RunningTranscriber;
let model: WhisperModel;

const DEFAULT_PROMPT = 'Vaillant Wärmepumpe';

beforeAll(async () => {
  stack = await startStack();
  running = await startTranscriber(stack, {
    PARTIAL_MAX_AGE_MS: '60000',
    CALL_SETTINGS_WAIT_MS: '3000',
    WHISPER_PROMPT: DEFAULT_PROMPT,
  });
  await running.transcriber.consuming;
  model = await loadWhisperModel(TEST_MODEL_DIR);
});
afterAll(async () => {
  await running?.stop();
  await stack?.close();
  await model?.release();
});

/** The decoder prompt Whisper gets for a language and hints: their latest n_text_ctx / 2 - 1 tokens. */
function expectedPrompt(language: string, hints: string, timestamps: boolean): number[] {
  const { tokens, languages } = model.config;
  const previous = encodePrevious(model, hints).slice(-maxPreviousTokens(model));
  return [
    ...(previous.length > 0 ? [tokens.startOfPrev!, ...previous] : []),
    tokens.sot,
    languages.get(language)!,
    tokens.transcribe,
    ...(timestamps ? [] : [tokens.noTimestamps]),
  ];
}

/** What the transcriber logged it prompted Whisper with, per kind, for a call. */
const prompts = (callSid: string) =>
  running.logs.lines
    .filter((l) => l.msg === 'transcribed' && l.callSid === callSid)
    .map((l) => ({ kind: l.kind as string, prompt: l.prompt as number[] }));

const finalsOf = async (callSid: string) =>
  (await stack.transcripts()).filter((m) => m.json.callSid === callSid && m.json.final === true);

async function speak(callSid: string, final: boolean, sequence = 0) {
  await stack.publishSegment({
    callSid,
    speaker: 'technician',
    segmentId: `${callSid}:technician:0:${sequence}`,
    sequence,
    final,
    startMs: 1000 * sequence,
    pcm: phrase(1),
  });
}

describe('per-call language and hints', () => {
  it('decodes a call with language=de with the German token and its hints, live and from the recording', async () => {
    const callSid = sid('CA');
    const hints = 'Kundennummer 4711, Heizungsservice Müller';
    await stack.publishCallStarted(callSid, { language: 'de', hints });
    await speak(callSid, false);
    // The partial first: a final seen before it would make it worthless (dropped, never transcribed).
    await eventually(() => expect(prompts(callSid).map((p) => p.kind)).toEqual(['partial']), 30_000);
    await speak(callSid, true);
    const recordingSid = sid('RE');
    const key = `calls/${callSid}/recordings/${recordingSid}/technician.wav`;
    const pcm = concat(silence(1000), phrase(1), silence(1000));
    await stack.store.putObject(key, wavFile(pcm, 16000), { contentType: 'audio/wav' });
    await stack.publishJob({
      callSid,
      speaker: 'technician',
      recordingSid,
      objectKey: key,
      sampleRate: 16000,
      durationMs: Math.round(pcm.length / 16),
    });

    const finals = await eventually(async () => {
      const found = await finalsOf(callSid);
      expect(found.map((f) => f.json.source).sort()).toEqual(['live', 'recording']);
      return found;
    }, 60_000);
    for (const final of finals) expect(final.json.language).toBe('de');
    const seen = await eventually(() => {
      const logged = prompts(callSid);
      expect(logged.map((p) => p.kind).sort()).toEqual(['final', 'partial', 'recording']);
      return logged;
    });
    const german = model.config.languages.get('de')!;
    // The test model keeps 31 prompt tokens (Whisper: 223): these hints are cut from the start.
    expect(encodePrevious(model, hints).length).toBeGreaterThan(maxPreviousTokens(model));
    for (const { kind, prompt } of seen) {
      expect(prompt).toContain(german);
      expect(prompt).toEqual(expectedPrompt('de', hints, kind !== 'partial'));
    }
  });

  it('uses WHISPER_LANGUAGE’s absence (detection) and WHISPER_PROMPT for a call that asked for nothing', async () => {
    const callSid = sid('CA');
    await stack.publishCallStarted(callSid);
    await speak(callSid, true);
    const [final] = await eventually(async () => {
      const found = await finalsOf(callSid);
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    const { prompt } = await eventually(() => {
      const logged = prompts(callSid);
      expect(logged).toHaveLength(1);
      return logged[0]!;
    });
    // Detected: whichever language the model picked is the one in the prompt and on the final.
    expect(prompt).toEqual(expectedPrompt(final!.json.language as string, DEFAULT_PROMPT, true));
  });

  it('waits for a call.started that arrives after the speech', async () => {
    const callSid = sid('CA');
    await speak(callSid, true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await stack.publishCallStarted(callSid, { language: 'de', hints: 'Rückruf' });
    await eventually(async () => expect(await finalsOf(callSid)).toHaveLength(1), 30_000);
    const [final] = await finalsOf(callSid);
    expect(final!.json.language).toBe('de');
    expect(prompts(callSid)[0]!.prompt).toEqual(expectedPrompt('de', 'Rückruf', true));
  });

  it('falls back to the defaults, with a warning, when call.started never comes or a setting is unusable', async () => {
    const unseen = sid('CA');
    const before = await metricValue(running.baseUrl, 'calltx_transcriber_call_settings_defaulted_total', {
      reason: 'start-unseen',
    });
    await speak(unseen, true);
    await eventually(async () => expect(await finalsOf(unseen)).toHaveLength(1), 30_000);
    const [final] = await finalsOf(unseen);
    expect(prompts(unseen)[0]!.prompt).toEqual(
      expectedPrompt(final!.json.language as string, DEFAULT_PROMPT, true),
    );
    expect(
      running.logs.lines.some(
        (l) => l.callSid === unseen && String(l.msg).startsWith('call.started not seen'),
      ),
    ).toBe(true);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_call_settings_defaulted_total', {
        reason: 'start-unseen',
      }),
    ).toBe(before + 1);

    // Published by something other than the gateway, which refuses these: the language still applies.
    const special = sid('CA');
    await stack.publishCallStarted(special, { language: 'de', hints: 'say <|endoftext|>' });
    await speak(special, true);
    await eventually(async () => expect(await finalsOf(special)).toHaveLength(1), 30_000);
    expect(prompts(special)[0]!.prompt).toEqual(expectedPrompt('de', DEFAULT_PROMPT, true));
    const warning = running.logs.lines.find(
      (l) => l.callSid === special && String(l.msg).startsWith('call setting unusable'),
    );
    expect(warning).toMatchObject({ field: 'hints' });
  });
});
