import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concat, halfRate, phrase, silence, wavFile } from './testing/audio.js';
import {
  eventually,
  metricValue,
  sid,
  startStack,
  startTranscriber,
  type RunningTranscriber,
  type TranscriberStack,
} from './testing/harness.js';

let stack: TranscriberStack;
let running: RunningTranscriber;

beforeAll(async () => {
  stack = await startStack();
  running = await startTranscriber(stack);
  await running.transcriber.consuming;
});
afterAll(async () => {
  await running?.stop();
  await stack?.close();
});

/** Two utterances with silence around them: where the speech is, in ms. */
function recording() {
  const one = phrase(1);
  const two = phrase(2);
  const pcm16k = concat(silence(1500), one, silence(2000), two, silence(1500));
  const firstStart = 1500;
  const firstEnd = firstStart + one.length / 16;
  const secondStart = firstEnd + 2000;
  const secondEnd = secondStart + two.length / 16;
  return {
    pcm16k,
    speech: [
      [firstStart, firstEnd],
      [secondStart, secondEnd],
    ] as const,
  };
}

describe('post-call transcription jobs', () => {
  it('transcribes only the speech of an 8 kHz recording into finals with source recording', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const { pcm16k, speech } = recording();
    const key = `calls/${callSid}/recordings/${recordingSid}/technician.wav`;
    await stack.store.putObject(key, wavFile(halfRate(pcm16k), 8000), { contentType: 'audio/wav' });
    await stack.publishJob({
      callSid,
      speaker: 'technician',
      recordingSid,
      objectKey: key,
      sampleRate: 8000,
      durationMs: Math.round(pcm16k.length / 16),
    });

    const finals = await eventually(async () => {
      const found = (await stack.transcripts()).filter((m) => m.json.callSid === callSid);
      expect(found).toHaveLength(2);
      return found.sort((a, b) => (a.json.sequence as number) - (b.json.sequence as number));
    }, 60_000);
    for (const [i, message] of finals.entries()) {
      const [start, end] = speech[i]!;
      expect(message.subject).toBe(`${stack.subjects.prefix}.transcripts.v1.${callSid}.technician.final`);
      expect(message.msgId).toBe(`${recordingSid}:technician:${i}:final`);
      expect(message.json).toMatchObject({
        type: 'transcript.final.v1',
        final: true,
        source: 'recording',
        speaker: 'technician',
        segmentId: `${recordingSid}:technician:${i}`,
        sequence: i,
        modelId: 'whisper-test-random',
      });
      // The segment holds the speech (and the VAD's padding of at most 200 ms on each side), never the silence.
      expect(message.json.startMs as number).toBeLessThanOrEqual(start + 100);
      expect(message.json.startMs as number).toBeGreaterThanOrEqual(start - 300);
      expect(message.json.endMs as number).toBeGreaterThanOrEqual(end - 100);
      expect(message.json.endMs as number).toBeLessThanOrEqual(end + 300);
      // The same detail as live finals, in call time within the utterance.
      expect(message.json.language).toMatch(/^[a-z]{2}$/);
      expect(typeof message.json.avgLogprob).toBe('number');
      expect(typeof message.json.noSpeechProb).toBe('number');
      const segments = message.json.segments as { startMs: number; endMs: number }[];
      for (const s of segments) {
        expect(s.startMs).toBeGreaterThanOrEqual(message.json.startMs as number);
        expect(s.endMs).toBeLessThanOrEqual(message.json.endMs as number);
      }
    }
    const stored = await stack.transcriptStore.list(callSid, 'technician', 'recording');
    expect(stored.map((s) => [s.segmentId, s.text])).toEqual(
      finals.map((m) => [m.json.segmentId, m.json.text]),
    );
    // Only the speech went to Whisper: about 4.5 s of the 9 s recording.
    const audioSeconds = await metricValue(running.baseUrl, 'calltx_transcriber_audio_seconds_total', {
      kind: 'recording',
    });
    expect(audioSeconds).toBeLessThan((speech[0][1] - speech[0][0] + speech[1][1] - speech[1][0]) / 1000 + 1);
  });

  it('resumes a redelivered job from what is stored: no new inference, no duplicate events', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const { pcm16k } = recording();
    const key = `calls/${callSid}/recordings/${recordingSid}/agent.wav`;
    await stack.store.putObject(key, wavFile(pcm16k, 16000));
    const job = {
      callSid,
      speaker: 'agent',
      recordingSid,
      objectKey: key,
      sampleRate: 16000,
      durationMs: Math.round(pcm16k.length / 16),
    };
    await stack.publishJob(job, 'first');
    await eventually(
      async () =>
        expect((await stack.transcripts()).filter((m) => m.json.callSid === callSid)).toHaveLength(2),
      60_000,
    );
    const inferences = await metricValue(running.baseUrl, 'calltx_transcriber_inference_seconds_count', {
      kind: 'recording',
    });
    const finalsPublished = await metricValue(running.baseUrl, 'calltx_transcriber_finals_published_total', {
      source: 'recording',
    });

    await stack.publishJob(job, 'second');
    await eventually(async () =>
      expect(
        await metricValue(running.baseUrl, 'calltx_transcriber_finals_published_total', {
          source: 'recording',
        }),
      ).toBe(finalsPublished + 2),
    );
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_inference_seconds_count', { kind: 'recording' }),
    ).toBe(inferences);
    expect((await stack.transcripts()).filter((m) => m.json.callSid === callSid)).toHaveLength(2);
    expect(await stack.transcriptStore.list(callSid, 'agent', 'recording')).toHaveLength(2);
  });

  it('terminates a job whose object is not a mono 16-bit WAV, saying why', async () => {
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const key = `calls/${callSid}/recordings/${recordingSid}/agent.wav`;
    await stack.store.putObject(key, Buffer.from('this is not a wav file at all, just text'));
    await stack.publishJob({
      callSid,
      speaker: 'agent',
      recordingSid,
      objectKey: key,
      sampleRate: 8000,
      durationMs: 1000,
    });
    const line = await eventually(() => {
      const found = running.logs.lines.find(
        (l) =>
          l.msg === 'message dead-lettered and terminated' &&
          l.reason === 'failed' &&
          String((l.err as { message?: string })?.message).includes(key),
      );
      expect(found).toBeDefined();
      return found!;
    });
    expect((line.err as { message: string }).message).toContain('not a RIFF/WAVE file');
    // Terminated, not left to redeliver: nothing pending or awaiting an acknowledgement.
    await eventually(async () => {
      const consumer = await stack.jsm.consumers.info(
        stack.subjects.streamName('transcribe'),
        'transcriber-recording',
      );
      expect([consumer.num_pending, consumer.num_ack_pending, consumer.num_redelivered]).toEqual([0, 0, 0]);
    });
  });
});
