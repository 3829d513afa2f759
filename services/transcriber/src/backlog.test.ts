import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phrase } from './testing/audio.js';
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
let running: RunningTranscriber | undefined;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await running?.stop();
  await stack?.close();
});

describe('a transcriber that is behind', () => {
  it('transcribes every final first and drops stale or superseded partials without inference', async () => {
    const calls = [sid('CA'), sid('CA')];
    const longAgo = new Date(Date.now() - 10_000).toISOString();
    const segments: string[] = [];
    // The backlog a replica finds after an outage: per utterance three partials (old audio), then its final.
    for (const callSid of calls) {
      for (const speaker of ['agent', 'technician']) {
        for (let sequence = 0; sequence < 2; sequence++) {
          const segmentId = `${callSid}:${speaker}:0:${sequence}`;
          segments.push(segmentId);
          const pcm = phrase(((sequence % 3) + 1) as 1 | 2);
          const base = {
            callSid,
            speaker,
            segmentId,
            sequence,
            startMs: sequence * 5000,
            audioEndAt: longAgo,
          };
          for (const seconds of [1, 2, 3]) {
            await stack.publishSegment({ ...base, final: false, pcm: pcm.subarray(0, seconds * 16_000) });
          }
          await stack.publishSegment({ ...base, final: true, pcm });
        }
      }
    }
    // An utterance still going on whose partials are old: no final yet, dropped for age alone.
    const openCall = sid('CA');
    await stack.publishSegment({
      callSid: openCall,
      speaker: 'agent',
      segmentId: `${openCall}:agent:0:0`,
      sequence: 0,
      final: false,
      startMs: 0,
      pcm: phrase(3).subarray(0, 16_000),
      audioEndAt: longAgo,
    });

    running = await startTranscriber(stack, { PARTIAL_MAX_AGE_MS: '2000' });
    const events = await eventually(async () => {
      const found = await stack.transcripts();
      expect(found.filter((m) => m.json.final === true)).toHaveLength(segments.length);
      return found;
    }, 60_000);
    await eventually(async () =>
      expect(await metricValue(running!.baseUrl, 'calltx_transcriber_partials_dropped_total')).toBe(
        segments.length * 3 + 1,
      ),
    );

    const finals = events.filter((m) => m.json.final === true);
    expect(finals.map((m) => m.json.segmentId).sort()).toEqual([...segments].sort());
    expect(events.filter((m) => m.json.final === false)).toEqual([]);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_inference_seconds_count', { kind: 'partial' }),
    ).toBe(0);
    expect(
      await metricValue(running.baseUrl, 'calltx_transcriber_partials_dropped_total', { reason: 'stale' }),
    ).toBeGreaterThanOrEqual(1);
    for (const callSid of calls) {
      for (const speaker of ['agent', 'technician']) {
        expect((await stack.transcriptStore.list(callSid, speaker, 'live')).map((s) => s.sequence)).toEqual([
          0, 1,
        ]);
      }
    }
  });

  it('runs finals before partials when both wait', async () => {
    await running?.stop();
    running = undefined;
    const callSid = sid('CA');
    // Fresh partials of other utterances than the finals: nothing to drop, only the order to decide.
    for (let sequence = 0; sequence < 4; sequence++) {
      const base = { callSid, speaker: 'agent', sequence, startMs: sequence * 5000 };
      await stack.publishSegment({
        ...base,
        segmentId: `${callSid}:agent:1:${sequence}`,
        final: false,
        pcm: phrase(1).subarray(0, 16_000),
      });
    }
    for (let sequence = 0; sequence < 4; sequence++) {
      const base = { callSid, speaker: 'technician', sequence, startMs: sequence * 5000 };
      await stack.publishSegment({
        ...base,
        segmentId: `${callSid}:technician:1:${sequence}`,
        final: true,
        pcm: phrase(2),
      });
    }
    running = await startTranscriber(stack, { PARTIAL_MAX_AGE_MS: '600000', TRANSCRIBER_CONCURRENCY: '1' });
    const events = await eventually(async () => {
      const found = (await stack.transcripts()).filter((m) => m.json.callSid === callSid);
      expect(found).toHaveLength(8);
      return found;
    }, 60_000);
    const lastFinal = Math.max(...events.filter((m) => m.json.final === true).map((m) => m.seq));
    const partialsBeforeIt = events.filter((m) => m.json.final === false && m.seq < lastFinal);
    // At most the one partial that may take the idle slot before the first final is fetched.
    expect(partialsBeforeIt.length).toBeLessThanOrEqual(1);
  });
});
