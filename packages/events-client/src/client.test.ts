import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TranscriptEvent } from '@calltx/events';
import {
  EventsClient,
  EventsClientError,
  transcriptFilterSubject,
  type Delivery,
  type InvalidDelivery,
} from './index.js';
import { eventsTestBed, newCallSid, transcript, type EventsTestBed } from './testing/events.js';

/** Reads `count` deliveries, failing after `timeoutMs` instead of hanging. */
async function take<E>(
  iterable: AsyncIterable<Delivery<E>>,
  count: number,
  timeoutMs = 5_000,
): Promise<Delivery<E>[]> {
  const out: Delivery<E>[] = [];
  if (count === 0) return out;
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    const next = await Promise.race([
      iterator.next(),
      sleep(Math.max(0, left)).then(() => 'timeout' as const),
    ]);
    if (next === 'timeout') throw new Error(`got ${out.length} of ${count} deliveries in ${timeoutMs} ms`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

const texts = (deliveries: Delivery<TranscriptEvent>[]) => deliveries.map((d) => d.event.text);

describe('EventsClient', () => {
  let bed: EventsTestBed;
  let client: EventsClient;

  beforeAll(async () => {
    bed = await eventsTestBed();
    client = new EventsClient(bed.nc, { subjectPrefix: bed.subjects.prefix });
  });
  afterAll(() => bed.stop());

  it('delivers one call live: nothing from before, nothing from other calls, in stream order', async () => {
    const call = newCallSid();
    const other = newCallSid();
    await bed.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 0, text: 'before', final: true }),
    );
    const subscription = await client.transcripts({ callSid: call });
    await bed.publishTranscript(
      transcript({ callSid: other, speaker: 'agent', sequence: 0, text: 'other call', final: true }),
    );
    const partial = transcript({
      callSid: call,
      speaker: 'technician',
      sequence: 0,
      text: 'hel',
      final: false,
    });
    await bed.publishTranscript(partial);
    await bed.publishTranscript({ ...partial, type: 'transcript.final.v1', final: true, text: 'hello' });
    await bed.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 1, text: 'hi there', final: true }),
    );

    const got = await take(subscription, 3);
    expect(texts(got)).toEqual(['hel', 'hello', 'hi there']);
    expect(got.map((d) => d.event.final)).toEqual([false, true, true]);
    expect(got[0]!.sequence).toBeLessThan(got[1]!.sequence);
    expect(got[1]!.sequence).toBeLessThan(got[2]!.sequence);
    expect(got[0]!.subject).toBe(bed.subjects.transcript(call, 'technician', 'partial'));
    await subscription.close();
  });

  it('replays from a point in time and resumes after a sequence, finals only', async () => {
    const call = newCallSid();
    await bed.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 0, text: 'old', final: true }),
    );
    await sleep(20);
    const since = new Date();
    await bed.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 1, text: 'partial', final: false }),
    );
    for (const [i, text] of ['one', 'two', 'three'].entries())
      await bed.publishTranscript(
        transcript({ callSid: call, speaker: 'technician', sequence: i, text, final: true }),
      );

    const fromTime = await client.transcripts({ callSid: call, kind: 'final', startAt: since });
    const replayed = await take(fromTime, 3);
    expect(texts(replayed)).toEqual(['one', 'two', 'three']);
    await fromTime.close();

    const resumed = await client.transcripts({
      callSid: call,
      startAt: { afterSequence: replayed[0]!.sequence },
    });
    expect(texts(await take(resumed, 2))).toEqual(['two', 'three']);
    await resumed.close();

    const everything = await client.transcripts({ callSid: call, startAt: 'start' });
    expect(texts(await take(everything, 5))).toEqual(['old', 'partial', 'one', 'two', 'three']);
    await everything.close();
  });

  it('skips and reports payloads that fail the shared schema', async () => {
    const invalid: InvalidDelivery[] = [];
    const reporting = new EventsClient(bed.nc, {
      subjectPrefix: bed.subjects.prefix,
      onInvalid: (i) => invalid.push(i),
    });
    const call = newCallSid();
    const subscription = await reporting.transcripts({ callSid: call });
    const badSeq = await bed.publishRaw(
      bed.subjects.transcript(call, 'agent', 'final'),
      '{"type":"transcript.final.v1"}',
    );
    await bed.publishRaw(bed.subjects.transcript(call, 'agent', 'final'), 'not json');
    await bed.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 0, text: 'valid', final: true }),
    );
    expect(texts(await take(subscription, 1))).toEqual(['valid']);
    expect(invalid.map((i) => i.sequence)).toEqual([badSeq, badSeq + 1]);
    expect(invalid[0]!.issues.length).toBeGreaterThan(0);
    await subscription.close();
  });

  it('removes its consumer from the server on close, also when the reader stops early', async () => {
    const jsm = await jetstreamManager(bed.nc);
    const stream = bed.subjects.streamName('transcripts');
    const consumerCount = async () => (await jsm.streams.info(stream)).state.consumer_count;
    const before = await consumerCount();
    const call = newCallSid();
    const subscription = await client.transcripts({ callSid: call, startAt: 'start' });
    expect(await consumerCount()).toBe(before + 1);
    await bed.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 0, text: 'x', final: true }),
    );
    for await (const delivery of subscription) {
      expect(delivery.event.text).toBe('x');
      break;
    }
    await expect.poll(consumerCount).toBe(before);
  });

  it('builds one filter subject for every combination (NATS 2.9 takes a single filter)', () => {
    const call = newCallSid();
    const s = bed.subjects;
    expect(transcriptFilterSubject(s, {})).toBe(`${s.prefix}.transcripts.v1.>`);
    expect(transcriptFilterSubject(s, { callSid: call })).toBe(`${s.prefix}.transcripts.v1.${call}.>`);
    expect(transcriptFilterSubject(s, { kind: 'final' })).toBe(`${s.prefix}.transcripts.v1.*.*.final`);
    expect(transcriptFilterSubject(s, { callSid: call, kind: 'partial' })).toBe(
      `${s.prefix}.transcripts.v1.${call}.*.partial`,
    );
    expect(() => transcriptFilterSubject(s, { callSid: 'CA.>' })).toThrow(RangeError);
  });

  it('refuses a missing stream with a named error and bad start positions with RangeError', async () => {
    const elsewhere = new EventsClient(bed.nc, { subjectPrefix: `${bed.subjects.prefix}x` });
    await expect(elsewhere.transcripts()).rejects.toBeInstanceOf(EventsClientError);
    await expect(client.transcripts({ startAt: { afterSequence: -1 } })).rejects.toBeInstanceOf(RangeError);
    await expect(client.transcripts({ startAt: new Date('nonsense') })).rejects.toBeInstanceOf(RangeError);
  });

  it('delivers call and recording events with their own schemas', async () => {
    const call = newCallSid();
    const calls = await client.callEvents({ callSid: call });
    const recordings = await client.recordingEvents({ callSid: call });
    const at = new Date().toISOString();
    await bed.js.publish(
      bed.subjects.call(call, 'ended'),
      JSON.stringify({ type: 'call.ended.v1', callSid: call, at, status: 'completed', durationSeconds: 12 }),
    );
    await bed.js.publish(
      bed.subjects.recording(call, 'absent'),
      JSON.stringify({
        type: 'recording.status.v1',
        callSid: call,
        at,
        accountSid: `AC${'1'.repeat(32)}`,
        recordingSid: `RE${'2'.repeat(32)}`,
        status: 'absent',
      }),
    );
    const [ended] = await take(calls, 1);
    const [absent] = await take(recordings, 1);
    expect(ended!.event.type).toBe('call.ended.v1');
    expect(absent!.event.type).toBe('recording.status.v1');
    await Promise.all([calls.close(), recordings.close()]);
  });
});
