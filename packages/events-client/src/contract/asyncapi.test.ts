import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
// ajv-formats is CommonJS: its plugin is the module's `default` under NodeNext typing and at run time alike.
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EVENT_TYPES, callEvents, recordingEvents, transcriptEvents } from '@calltx/events';
import { ASYNCAPI_PATH, asyncApiYaml } from './render.js';

const committedPath = fileURLToPath(new URL(`../../../../${ASYNCAPI_PATH}`, import.meta.url));
const CALL = `CA${'a'.repeat(32)}`;
const AT = '2025-05-01T10:00:00.000Z';

describe('AsyncAPI document', () => {
  it('is committed exactly as generated from the shared schemas (run `pnpm docs:events` after changing them)', () => {
    expect(readFileSync(committedPath, 'utf8')).toBe(asyncApiYaml());
  });

  it('is a valid AsyncAPI 3.0.0 document', () => {
    // The spec bundles its own copy of the draft-07 meta-schema: Ajv must not add its built-in one beside it.
    const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
    addFormats.default(ajv);
    const validate = ajv.compile(specs.schemas['3.0.0']);
    const valid = validate(parse(asyncApiYaml()));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('describes every public event type with a payload schema that accepts real events and refuses broken ones', () => {
    const document = parse(readFileSync(committedPath, 'utf8')) as {
      components: { schemas: Record<string, object> };
    };
    expect(Object.keys(document.components.schemas).sort()).toEqual(Object.keys(EVENT_TYPES).sort());

    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const timing = { audioEndAt: AT, publishedAt: AT, latencyMs: 420 };
    const samples = [
      transcriptEvents.final({
        callSid: CALL,
        speaker: 'technician',
        segmentId: 's-1',
        sequence: 0,
        startMs: 0,
        endMs: 900,
        text: 'hello',
        source: 'live',
        modelId: 'whisper-tiny.en',
        final: true,
        timing,
      }),
      transcriptEvents.final({
        callSid: CALL,
        speaker: 'agent',
        segmentId: 's-2',
        sequence: 1,
        startMs: 1000,
        endMs: 2400,
        text: 'Hello, world.',
        source: 'recording',
        modelId: 'whisper-base_timestamped',
        final: true,
        timing,
        language: 'en',
        avgLogprob: -0.21,
        noSpeechProb: 0.01,
        segments: [{ startMs: 1000, endMs: 2400, text: 'Hello, world.' }],
        words: [
          { text: ' Hello,', startMs: 1040, endMs: 1500, probability: 0.93 },
          { text: ' world.', startMs: 1500, endMs: 2300, probability: 0.88 },
        ],
      }),
      callEvents.started({
        callSid: CALL,
        at: AT,
        accountSid: `AC${'1'.repeat(32)}`,
        from: 'client:alice',
        to: '+15005550006',
        direction: 'inbound',
      }),
      callEvents.started({
        callSid: CALL,
        at: AT,
        accountSid: `AC${'1'.repeat(32)}`,
        from: 'client:alice',
        to: '+15005550006',
        direction: 'inbound',
        language: 'de',
        hints: 'Kundennummer, Wärmepumpe, Vaillant',
      }),
      recordingEvents.status({
        callSid: CALL,
        at: AT,
        accountSid: `AC${'1'.repeat(32)}`,
        recordingSid: `RE${'2'.repeat(32)}`,
        status: 'absent',
      }),
    ];
    for (const sample of samples) {
      const validate = ajv.compile(document.components.schemas[sample.type]!);
      expect(validate(sample), `${sample.type}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      // A field added later within v1 must not break consumers that validate with this document.
      expect(validate({ ...sample, addedLater: 1 })).toBe(true);
      expect(validate({ ...sample, callSid: 'CA-not-a-sid' })).toBe(false);
    }
    const final = document.components.schemas['transcript.final.v1']!;
    const validate = ajv.compile(final);
    const detailed = samples[1]!;
    expect(validate({ ...detailed, words: [{ text: ' x', startMs: 0, endMs: 1, probability: 1.5 }] })).toBe(
      false,
    );
    expect(validate({ ...detailed, language: 'English' })).toBe(false);
    expect(validate({ ...detailed, segments: [{ startMs: -1, endMs: 0, text: '' }] })).toBe(false);
    const started = ajv.compile(document.components.schemas['call.started.v1']!);
    const withSettings = samples[3]!;
    expect(started({ ...withSettings, language: 'German' })).toBe(false);
    expect(started({ ...withSettings, hints: 'x'.repeat(1_001) })).toBe(false);
    expect(started({ ...withSettings, hints: '' })).toBe(false);
  });
});
