import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callEvents } from '@calltx/events';
import { eventDataProblems, responseProblems } from '../testing/openapi.js';
import { KEYS, getJson, newSid, startApi, transcript, type ApiHarness } from '../testing/api-harness.js';
import { openSse, type SseConnection, type SseEvent } from '../testing/sse-client.js';

const auth = { 'x-api-key': KEYS.reader };
const texts = (events: SseEvent[]) => events.map((e) => (JSON.parse(e.data) as { text: string }).text);

describe('live event streams (Server-Sent Events)', () => {
  let h: ApiHarness;
  const url = (path: string) => `${h.baseUrl}/api/v1${path}`;
  const open: SseConnection[] = [];
  const connect = async (path: string, headers: Record<string, string> = {}) => {
    const connection = await openSse(url(path), { ...auth, ...headers });
    open.push(connection);
    return connection;
  };
  const take = async (connection: SseConnection, count: number) => {
    const events: SseEvent[] = [];
    while (events.length < count) events.push(await connection.next());
    return events;
  };

  beforeAll(async () => {
    h = await startApi({ env: { API_MAX_LIVE_STREAMS: '6' }, heartbeatMs: 200 });
  });
  afterEach(() => {
    for (const connection of open.splice(0)) connection.close();
  });
  afterAll(() => h.close());

  it("streams one call's transcript events live, ids being stream sequences, data as documented", async () => {
    const call = newSid('CA');
    await h.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 0, text: 'before we listened', final: true }),
    );
    const sse = await connect(`/transcripts/stream?callSid=${call}`);
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const published = [
      await h.publishTranscript(
        transcript({
          callSid: newSid('CA'),
          speaker: 'agent',
          sequence: 0,
          text: 'another call',
          final: true,
        }),
      ),
      await h.publishTranscript(
        transcript({ callSid: call, speaker: 'technician', sequence: 0, text: 'the pu', final: false }),
      ),
      await h.publishTranscript(
        transcript({
          callSid: call,
          speaker: 'technician',
          sequence: 0,
          text: 'the pump leaks',
          final: true,
        }),
      ),
    ];
    const events = await take(sse, 2);
    expect(texts(events)).toEqual(['the pu', 'the pump leaks']);
    expect(events.map((e) => e.id)).toEqual([String(published[1]), String(published[2])]);
    expect(events.map((e) => e.event)).toEqual(['transcript', 'transcript']);
    for (const event of events)
      expect(eventDataProblems('/transcripts/stream', JSON.parse(event.data))).toEqual([]);
  });

  it('resumes after a disconnect from Last-Event-ID: exactly the events missed, in order, then live again', async () => {
    const call = newSid('CA');
    const first = await connect(`/transcripts/stream?callSid=${call}&kind=final`);
    for (const [i, text] of ['one', 'two'].entries())
      await h.publishTranscript(
        transcript({ callSid: call, speaker: 'agent', sequence: i, text, final: true }),
      );
    const seen = await take(first, 2);
    first.close();
    await first.ended;

    // Said while the client was away, partials among them (filtered out by kind=final).
    await h.publishTranscript(
      transcript({ callSid: call, speaker: 'technician', sequence: 0, text: 'thr', final: false }),
    );
    for (const [i, text] of ['three', 'four'].entries())
      await h.publishTranscript(
        transcript({ callSid: call, speaker: 'technician', sequence: i, text, final: true }),
      );

    const resumed = await connect(`/transcripts/stream?callSid=${call}&kind=final`, {
      'last-event-id': seen[1]!.id!,
    });
    expect(texts(await take(resumed, 2))).toEqual(['three', 'four']);
    await h.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 2, text: 'five', final: true }),
    );
    expect(texts(await take(resumed, 1))).toEqual(['five']);
    expect(await resumed.drain(300)).toEqual([]);

    // The query parameter does the same for clients that cannot set the header.
    const byQuery = await connect(
      `/transcripts/stream?callSid=${call}&kind=final&lastEventId=${seen[0]!.id}`,
    );
    expect(texts(await take(byQuery, 4))).toEqual(['two', 'three', 'four', 'five']);
  });

  it('replays from the start or from a time, and keeps idle connections alive with comments', async () => {
    const call = newSid('CA');
    await h.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 0, text: 'early', final: true }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const since = new Date().toISOString();
    await h.publishTranscript(
      transcript({ callSid: call, speaker: 'agent', sequence: 1, text: 'late', final: true }),
    );
    const fromStart = await connect(`/transcripts/stream?callSid=${call}&from=start`);
    expect(texts(await take(fromStart, 2))).toEqual(['early', 'late']);
    const fromTime = await connect(`/transcripts/stream?callSid=${call}&from=${encodeURIComponent(since)}`);
    expect(texts(await take(fromTime, 1))).toEqual(['late']);

    const raw = await fetch(url(`/transcripts/stream?callSid=${newSid('CA')}`), { headers: auth });
    const reader = raw.body!.getReader();
    let text = '';
    const deadline = Date.now() + 3_000;
    while (!text.includes(': keep-alive') && Date.now() < deadline)
      text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^retry: 2000\n/);
    expect(text).toContain(': keep-alive\n\n');
    await reader.cancel();
  });

  it('streams call lifecycle events, resuming the same way', async () => {
    const call = newSid('CA');
    const sse = await connect(`/calls/stream?callSid=${call}`);
    const at = new Date().toISOString();
    const started = callEvents.started({
      callSid: call,
      at,
      accountSid: `AC${'1'.repeat(32)}`,
      from: 'client:alice',
      to: '+15550100001',
      direction: 'inbound',
    });
    await h.js.publish(h.subjects.call(call, 'started'), JSON.stringify(started));
    const [event] = await take(sse, 1);
    expect(event!.event).toBe('call');
    expect(JSON.parse(event!.data)).toEqual(started);
    expect(eventDataProblems('/calls/stream', JSON.parse(event!.data))).toEqual([]);
    sse.close();
    const ended = callEvents.ended({ callSid: call, at, status: 'completed', durationSeconds: 30 });
    await h.js.publish(h.subjects.call(call, 'ended'), JSON.stringify(ended));
    const resumed = await connect(`/calls/stream?callSid=${call}`, { 'last-event-id': event!.id! });
    expect(JSON.parse((await take(resumed, 1))[0]!.data)).toEqual(ended);
  });

  it('refuses bad parameters and missing credentials before opening a stream', async () => {
    for (const [path, headers, status] of [
      ['/transcripts/stream?callSid=CA-nope', auth, 400],
      ['/transcripts/stream?from=yesterday', auth, 400],
      ['/transcripts/stream', { ...auth, 'last-event-id': 'abc' }, 400],
      ['/transcripts/stream', {}, 401],
      ['/transcripts/stream', { 'x-api-key': KEYS.callsOnly }, 403],
    ] as const) {
      const r = await getJson(h.baseUrl, path, null, { headers });
      expect(r.status, path).toBe(status);
      expect(responseProblems('GET', '/transcripts/stream', r.status, r.json)).toEqual([]);
    }
  });

  it('ends open streams on close(), removing their consumers, and caps how many are open', async () => {
    const stream = h.subjects.streamName('transcripts');
    // Besides the read model's durable consumer, which stays.
    const durable = 1;
    await expect.poll(async () => (await h.jsm.streams.info(stream)).state.consumer_count).toBe(durable);

    const streams = await Promise.all(Array.from({ length: 6 }, () => connect('/transcripts/stream')));
    expect(streams.map((s) => s.status)).toEqual(Array(6).fill(200));
    const refused = await getJson(h.baseUrl, '/transcripts/stream', null, { headers: auth });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(responseProblems('GET', '/transcripts/stream', 503, refused.json)).toEqual([]);

    await h.mounted.close();
    await Promise.all(streams.map((s) => s.ended));
    await expect.poll(async () => (await h.jsm.streams.info(stream)).state.consumer_count).toBe(durable);
  });
});
