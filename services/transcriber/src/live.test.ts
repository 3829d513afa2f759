import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TranscriptStore } from './db/transcript-store.js';
import { Recognizer } from './engine/recognizer.js';
import { concat, phrase, silence } from './testing/audio.js';
import {
  TEST_MODEL_DIR,
  eventually,
  metricValue,
  sid,
  startStack,
  startTranscriber,
  type RunningTranscriber,
  type TranscriberStack,
  type TranscriptMessage,
} from './testing/harness.js';

let stack: TranscriberStack;
let running: RunningTranscriber;
/** The same model, driven directly: what the service publishes must be exactly what Whisper says. */
let reference: Recognizer;

beforeAll(async () => {
  stack = await startStack();
  running = await startTranscriber(stack, { PARTIAL_MAX_AGE_MS: '60000' });
  await running.transcriber.consuming;
  reference = await Recognizer.load({
    modelDir: TEST_MODEL_DIR,
    quantized: false,
    instances: 1,
    threads: 1,
    language: '',
    prompt: '',
  });
});
afterAll(async () => {
  await running?.stop();
  await reference?.release();
  await stack?.close();
});

const ofCall = (messages: TranscriptMessage[], callSid: string) =>
  messages.filter((m) => m.json.callSid === callSid);

describe('live speech segments', () => {
  it('publishes a partial and then the final of an utterance, with the transcript fields and the final stored', async () => {
    const callSid = sid('CA');
    const segmentId = `${callSid}:agent:0:0`;
    const audio = concat(phrase(1), silence(200));
    const partialAudio = audio.subarray(0, 16_000);
    const audioEndAt = new Date().toISOString();
    await stack.publishSegment({
      callSid,
      speaker: 'agent',
      segmentId,
      sequence: 0,
      final: false,
      startMs: 1000,
      pcm: partialAudio,
      audioEndAt,
    });
    const [partial] = await eventually(async () => {
      const found = ofCall(await stack.transcripts(), callSid);
      expect(found).toHaveLength(1);
      return found;
    });
    await stack.publishSegment({
      callSid,
      speaker: 'agent',
      segmentId,
      sequence: 0,
      final: true,
      startMs: 1000,
      pcm: audio,
      audioEndAt,
    });
    const [, final] = await eventually(async () => {
      const found = ofCall(await stack.transcripts(), callSid);
      expect(found).toHaveLength(2);
      return found;
    });

    expect(partial!.subject).toBe(`${stack.subjects.prefix}.transcripts.v1.${callSid}.agent.partial`);
    expect(partial!.json).toMatchObject({
      type: 'transcript.partial.v1',
      final: false,
      callSid,
      speaker: 'agent',
      segmentId,
      sequence: 0,
      startMs: 1000,
      endMs: 2000,
      source: 'live',
      modelId: 'whisper-test-random',
      text: (await reference.recognize(partialAudio)).text,
    });
    expect(final!.subject).toBe(`${stack.subjects.prefix}.transcripts.v1.${callSid}.agent.final`);
    expect(final!.msgId).toBe(`${segmentId}:final`);
    const expected = await reference.recognizeDetailed(audio);
    const expectedText = expected.text;
    expect(final!.json).toMatchObject({
      type: 'transcript.final.v1',
      final: true,
      callSid,
      speaker: 'agent',
      segmentId,
      sequence: 0,
      startMs: 1000,
      endMs: 1000 + Math.round(audio.length / 16),
      source: 'live',
      modelId: 'whisper-test-random',
      text: expectedText,
    });
    // Whisper's detail, in call time (the utterance starts 1000 ms into the call); no words: this model's decoder
    // has no cross-attention outputs.
    expect(expected.segments.length).toBeGreaterThan(0);
    const end = 1000 + Math.round(audio.length / 16);
    expect(final!.json).toMatchObject({
      language: expected.language,
      avgLogprob: expected.avgLogprob,
      noSpeechProb: expected.noSpeechProb,
      segments: expected.segments.map((s) => ({
        text: s.text,
        startMs: Math.min(end, 1000 + s.startMs),
        endMs: Math.min(end, 1000 + s.endMs),
      })),
    });
    expect(final!.json.language).toMatch(/^[a-z]{2}$/);
    expect(final!.json).not.toHaveProperty('words');
    expect(partial!.json).not.toHaveProperty('segments');
    const timing = final!.json.timing as { audioEndAt: string; publishedAt: string; latencyMs: number };
    expect(timing.audioEndAt).toBe(audioEndAt);
    expect(timing.latencyMs).toBe(Date.parse(timing.publishedAt) - Date.parse(audioEndAt));
    expect(timing.latencyMs).toBeGreaterThan(0);

    const stored = await stack.transcriptStore.find({ callSid, speaker: 'agent', segmentId, source: 'live' });
    expect(stored).toMatchObject({
      sequence: 0,
      startMs: 1000,
      text: expectedText,
      modelId: 'whisper-test-random',
      audioEndAt,
      language: expected.language,
      words: null,
    });
    expect(stored!.inferenceMs).toBeGreaterThan(0);
  });

  it('publishes the finals of each speaker with their sequence numbers, so subscribers can order them', async () => {
    const callSid = sid('CA');
    const phrases = [phrase(1), phrase(2), phrase(3)] as const;
    for (const speaker of ['agent', 'technician']) {
      for (let sequence = 0; sequence < 3; sequence++) {
        await stack.publishSegment({
          callSid,
          speaker,
          segmentId: `${callSid}:${speaker}:0:${sequence}`,
          sequence,
          final: true,
          startMs: sequence * 4000,
          pcm: phrases[sequence]!,
        });
      }
    }
    const finals = await eventually(async () => {
      const found = ofCall(await stack.transcripts(), callSid);
      expect(found).toHaveLength(6);
      return found;
    });
    for (const speaker of ['agent', 'technician']) {
      const mine = finals.filter((m) => m.json.speaker === speaker).map((m) => m.json);
      expect(mine.map((e) => e.sequence).sort()).toEqual([0, 1, 2]);
      for (const event of mine) {
        expect(event.text).toBe(
          (await reference.recognizeDetailed(phrases[event.sequence as 0 | 1 | 2]!)).text,
        );
      }
      expect((await stack.transcriptStore.list(callSid, speaker, 'live')).map((s) => s.sequence)).toEqual([
        0, 1, 2,
      ]);
    }
  });

  it('publishes and stores a final once when its segment is delivered again', async () => {
    const callSid = sid('CA');
    const segmentId = `${callSid}:technician:0:0`;
    const segment = {
      callSid,
      speaker: 'technician',
      segmentId,
      sequence: 0,
      final: true,
      startMs: 0,
      pcm: phrase(2),
    };
    await stack.publishSegment(segment, 'first-delivery');
    await eventually(async () => expect(ofCall(await stack.transcripts(), callSid)).toHaveLength(1));
    // The same segment again (as after a replica died before acknowledging it): another message, same segment.
    await stack.publishSegment(segment, 'second-delivery');
    await eventually(() =>
      expect(
        running.logs.lines.some(
          (l) => l.msg === 'final already stored, republishing it' && l.segmentId === segmentId,
        ),
      ).toBe(true),
    );
    // The republish carried the same Nats-Msg-Id: JetStream kept the first.
    await eventually(async () =>
      expect(
        await metricValue(running.baseUrl, 'calltx_consumer_messages_total', {
          consumer: 'transcriber-final',
          outcome: 'ok',
        }),
      ).toBeGreaterThanOrEqual(2),
    );
    const finals = ofCall(await stack.transcripts(), callSid);
    expect(finals).toHaveLength(1);
    const { rows } = await stack.pool.query(
      'SELECT count(*)::int AS n FROM transcript_segments WHERE segment_id = $1',
      [segmentId],
    );
    expect(rows[0].n).toBe(1);

    // The transcript lost on its way (a replicated stream dropping what it acknowledged): the live-finals audit
    // reissues the segment, and the stored transcript is published again under the reissue's id, not the one the
    // duplicate window still holds.
    await stack.jsm.streams.deleteMessage(stack.subjects.streamName('transcripts'), finals[0]!.seq);
    await stack.publishSegment({ ...segment, reissue: 1 }, `${segmentId}:final:reissue:1`);
    await eventually(async () =>
      expect(ofCall(await stack.transcripts(), callSid).map((t) => t.msgId)).toEqual([
        `${segmentId}:final:reissue:1`,
      ]),
    );
    const again = await stack.pool.query(
      'SELECT count(*)::int AS n FROM transcript_segments WHERE segment_id = $1',
      [segmentId],
    );
    expect(again.rows[0].n).toBe(1);
  });

  it('settles a reissue of a final that is late, not lost, with one message: none when its copy is there, else its own id', async () => {
    const callSid = sid('CA');
    const settled = (segmentId: string) =>
      running.logs.lines.find((l) => l.msg === 'reissued final settled' && l.segmentId === segmentId);

    // Published, then reissued all the same (the audit read TRANSCRIPTS before the copy landed): nothing more.
    const landed = {
      callSid,
      speaker: 'agent',
      segmentId: `${callSid}:agent:0`,
      sequence: 0,
      final: true,
      startMs: 0,
      pcm: phrase(1),
    };
    await stack.publishSegment(landed);
    await eventually(async () => expect(ofCall(await stack.transcripts(), callSid)).toHaveLength(1));
    await stack.publishSegment({ ...landed, reissue: 1 }, `${landed.segmentId}:final:reissue:1`);
    await eventually(() => expect(settled(landed.segmentId)?.outcome).toBe('present'));

    // Transcribed and stored, its first publish not made yet (retrying through an election, say): the reissue
    // publishes it under the segment's own id, and the late first publish is then a duplicate JetStream drops.
    const late = { ...landed, speaker: 'technician', segmentId: `${callSid}:technician:0` };
    await new TranscriptStore(stack.pool).insert({
      callSid,
      speaker: late.speaker,
      segmentId: late.segmentId,
      source: 'live',
      sequence: 0,
      startMs: 0,
      endMs: 1_000,
      text: 'stored before it was published',
      modelId: 'test',
      audioEndAt: new Date().toISOString(),
      inferenceMs: 1,
      language: null,
      avgLogprob: null,
      noSpeechProb: null,
      segments: null,
      words: null,
      redactions: null,
    });
    await stack.publishSegment({ ...late, reissue: 1 }, `${late.segmentId}:final:reissue:1`);
    await eventually(() => expect(settled(late.segmentId)?.outcome).toBe('published'));
    await stack.publishSegment(late, 'first-delivery-late');
    await eventually(() =>
      expect(
        running.logs.lines.some(
          (l) => l.msg === 'final already stored, republishing it' && l.segmentId === late.segmentId,
        ),
      ).toBe(true),
    );
    await eventually(async () =>
      expect(
        await metricValue(running.baseUrl, 'calltx_transcriber_reissued_finals_total', {
          outcome: 'published',
        }),
      ).toBeGreaterThanOrEqual(1),
    );
    const finals = ofCall(await stack.transcripts(), callSid);
    expect(finals.map((t) => t.msgId).sort()).toEqual([
      `${landed.segmentId}:final`,
      `${late.segmentId}:final`,
    ]);
  });

  it('is ready, exposes its metrics and never logs transcript text', async () => {
    const ready = await fetch(`${running.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await metricValue(running.baseUrl, 'calltx_transcriber_model_ready')).toBe(1);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_finals_published_total', { source: 'live' }),
    ).toBeGreaterThanOrEqual(8);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_inference_seconds_count', { kind: 'final' }),
    ).toBeGreaterThanOrEqual(8);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_latency_seconds_count', { kind: 'final' }),
    ).toBeGreaterThanOrEqual(8);
    // Where each final's time went, stage by stage (what the capacity benchmark splits latency by).
    for (const stage of ['delivery', 'queue', 'log-mel', 'encoder', 'decoder', 'word-timing'])
      expect(
        await metricValue(running.baseUrl, 'calltx_transcriber_stage_seconds_count', {
          kind: 'final',
          stage,
        }),
        stage,
      ).toBeGreaterThanOrEqual(8);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_stage_seconds_count', {
        kind: 'partial',
        stage: 'encoder',
      }),
    ).toBeGreaterThanOrEqual(1);
    await eventually(async () =>
      expect(
        await metricValue(running.baseUrl, 'calltx_transcriber_consumer_pending', {
          consumer: 'transcriber-final',
        }),
      ).toBe(0),
    );
    const texts = (await stack.transcripts()).map((m) => m.json.text as string).filter((t) => t.length > 3);
    expect(texts.length).toBeGreaterThan(0);
    const logged = JSON.stringify(running.logs.lines);
    for (const text of texts) expect(logged).not.toContain(JSON.stringify(text).slice(1, -1));
  });
});
