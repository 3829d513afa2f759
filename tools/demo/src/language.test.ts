import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, storedEvents } from '@calltx/devstack';
import { newSid } from '@calltx/twilio-sim';
import { RANDOM_MODEL, SAMPLE_CALL, System } from './testing/system.js';

/**
 * Per-call language and hints end to end, every service a process: the browser's connect params reach the voice
 * webhook (signed, as Twilio posts them), ride on call.started, and the transcriber decodes the call's live speech
 * and its recording with the German language token and the hints as Whisper's previous-text prompt.
 */
let system: System;
let nc: NatsConnection;

beforeAll(async () => {
  system = await System.start({ label: 'lang', env: { WHISPER_MODEL_DIR: RANDOM_MODEL }, twilioApi: true });
  nc = await connect({ servers: system.natsUrl });
  for (const name of ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher'] as const)
    // The transcriber's debug lines name the prompt each utterance was decoded with.
    await system.start(name, name === 'transcriber' ? { LOG_LEVEL: 'debug' } : {});
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await system?.stop();
});

describe('a call placed with language=de and hints', () => {
  it('is decoded with the German language token and the hints, live and from its recording', async () => {
    const callSid = newSid('CA');
    const hints = 'Wärmepumpe';
    const call = await system.call({
      callSid,
      voiceParams: { language: 'de', hints },
      wav: SAMPLE_CALL,
      speed: 4,
      recording: system.twilioApi,
    });
    expect(call.twiml).toContain('<Dial');
    const { subjects } = system;

    const [started] = await storedEvents(
      jetstream(nc),
      subjects.streamName('calls'),
      subjects.call(callSid, 'started'),
    );
    expect(started).toMatchObject({ type: 'call.started.v1', language: 'de', hints });

    // The German token and <|startofprev|> + the hints' tokens, from the model's own files.
    const generation = JSON.parse(await readFile(join(RANDOM_MODEL, 'generation_config.json'), 'utf8')) as {
      lang_to_id: Record<string, number>;
    };
    const tokenizer = JSON.parse(await readFile(join(RANDOM_MODEL, 'tokenizer.json'), 'utf8')) as {
      added_tokens: Array<{ id: number; content: string }>;
    };
    const special = (name: string) => tokenizer.added_tokens.find((t) => t.content === name)!.id;
    const german = generation.lang_to_id['<|de|>']!;
    const [startOfPrev, sot, transcribe] = ['<|startofprev|>', '<|startoftranscript|>', '<|transcribe|>'].map(
      special,
    );

    const transcriber = system.service('transcriber');
    const prompts = await eventually(() => {
      const logged = transcriber.logs.filter((l) => l.msg === 'transcribed' && l.callSid === callSid);
      expect(new Set(logged.map((l) => l.kind))).toContain('final');
      expect(new Set(logged.map((l) => l.kind))).toContain('recording');
      return logged.map((l) => ({ kind: l.kind as string, prompt: l.prompt as number[] }));
    }, 120_000);
    for (const { prompt } of prompts) {
      const at = prompt.indexOf(sot!);
      expect(prompt[0]).toBe(startOfPrev);
      expect(at).toBeGreaterThan(1);
      expect(prompt.slice(at, at + 3)).toEqual([sot, german, transcribe]);
    }

    const finals = await eventually(async () => {
      const found = await storedEvents(
        jetstream(nc),
        subjects.streamName('transcripts'),
        subjects.allTranscripts('final'),
      );
      const ofCall = found.filter((f) => f.callSid === callSid);
      expect(new Set(ofCall.map((f) => f.source))).toEqual(new Set(['live', 'recording']));
      return ofCall;
    }, 120_000);
    for (const final of finals) expect(final.language).toBe('de');
  }, 240_000);
});
