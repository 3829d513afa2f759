import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  ACCOUNT_SID,
  TwilioStream,
  postTwilio,
  eventually,
  metricValue,
  openMediaStream,
  readMedia,
  readStream,
  send,
  startGateway,
  type GatewayHarness,
  type StoredFrames,
} from '../testing/harness.js';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway({ MEDIA_FLUSH_MS: '10' });
});
afterAll(async () => {
  await h.close();
});

const SPEAKERS = { inbound: 'agent', outbound: 'technician' } as const;

/** Chunks 1…n at Twilio's 20 ms steps, each payload the one TwilioStream made for its chunk. */
function expectAllFrames(frames: StoredFrames, n: number) {
  expect(frames.map((f) => f.chunk)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(frames.map((f) => f.timestampMs)).toEqual(Array.from({ length: n }, (_, i) => i * 20));
  expect(
    frames.every((f, i) => f.payload.length === 160 && Buffer.from(f.payload).readUInt32BE(0) === i + 1),
  ).toBe(true);
}

const counter = (name: string, labels: Record<string, string> = {}) => metricValue(h, name, labels);

type Frames = StoredFrames;

async function streamCall(frames: number, options: { stop?: boolean; gateway?: GatewayHarness } = {}) {
  const call = new TwilioStream();
  const ws = await openMediaStream(options.gateway ?? h);
  await send(ws, call.connected());
  await send(ws, call.start({ callSid: call.callSid }));
  for (let i = 0; i < frames; i += 1) {
    await send(ws, call.media('inbound'));
    await send(ws, call.media('outbound'));
  }
  if (options.stop !== false) await send(ws, call.stop());
  return { call, ws };
}

const stopped = (call: TwilioStream, gateway = h) =>
  eventually(async () => {
    const [stop] = await readStream(
      gateway.nats.nc,
      gateway.subjects.streamName('calls'),
      gateway.subjects.call(call.callSid, 'stream-stopped'),
    );
    if (!stop) throw new Error('no stream-stopped yet');
    return stop.json;
  });

describe('WS /twilio/media-stream', () => {
  it('refuses upgrades without a valid signature, and other paths', async () => {
    await expect(openMediaStream(h, 'missing')).rejects.toThrow('refused with 403');
    await expect(openMediaStream(h, 'forged')).rejects.toThrow('refused with 403');
    const other = new WebSocket(`${h.baseUrl.replace('http', 'ws')}/elsewhere`);
    await expect(
      new Promise((_, reject) =>
        other.once('unexpected-response', (_r, res) => reject(new Error(String(res.statusCode)))),
      ),
    ).rejects.toThrow('404');
  });

  it('publishes both tracks in order with their speakers, then stream-started/stopped', async () => {
    const frameCounts = () =>
      Promise.all(
        (['inbound', 'outbound'] as const).flatMap((track) =>
          (['received', 'published'] as const).map((outcome) =>
            counter('calltx_gateway_frames_total', { track, outcome }),
          ),
        ),
      );
    const before = await frameCounts();
    const { call, ws } = await streamCall(120);
    const stop = await stopped(call);
    const after = await frameCounts();
    expect(after.map((value, i) => value - before[i]!)).toEqual([120, 120, 120, 120]);
    expect(stop).toMatchObject({
      type: 'call.stream-stopped.v1',
      reason: 'stop',
      streamSid: call.streamSid,
      framesReceived: { inbound: 120, outbound: 120 },
      framesLost: { inbound: 0, outbound: 0 },
      lastTimestampMs: { inbound: 119 * 20, outbound: 119 * 20 },
    });
    // One media.frames.v3 message per flush, both tracks in it, on the call's `both` subject.
    const { messages, frames } = await readMedia(h.nats.nc, h.subjects, call.callSid);
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) {
      expect(m.subject).toBe(h.subjects.media(call.callSid, 'both'));
      expect(m.json.type).toBe('media.frames.v3');
      const sections = m.json.tracks as Array<{ track: string; speaker: string; frames: Frames }>;
      const first = (track: string) => sections.find((t) => t.track === track)?.frames[0]?.chunk ?? 0;
      expect(m.msgId).toBe(`${call.streamSid}:${first('inbound')}:${first('outbound')}`);
      expect(sections.every((t) => t.speaker === SPEAKERS[t.track as keyof typeof SPEAKERS])).toBe(true);
    }
    // Most flushes carry both tracks' frames (they arrive in the same 20 ms): half the messages of one per track.
    expect(messages.filter((m) => (m.json.tracks as unknown[]).length === 2).length).toBeGreaterThan(
      messages.length / 2,
    );
    expectAllFrames(frames.inbound, 120);
    expectAllFrames(frames.outbound, 120);
    const [started] = await readStream(
      h.nats.nc,
      h.subjects.streamName('calls'),
      h.subjects.call(call.callSid, 'stream-started'),
    );
    expect(started?.json).toMatchObject({
      speakers: { inbound: 'agent', outbound: 'technician' },
      customParameters: { callSid: call.callSid },
    });
    ws.close();
  });

  it('publishes one media.frames.v2 message per track with MEDIA_MESSAGE_SCOPE=track (rolling upgrade)', async () => {
    const perTrack = await startGateway({ MEDIA_FLUSH_MS: '10', MEDIA_MESSAGE_SCOPE: 'track' });
    try {
      const { call, ws } = await streamCall(60, { gateway: perTrack });
      expect(await stopped(call, perTrack)).toMatchObject({ framesReceived: { inbound: 60, outbound: 60 } });
      const { messages, frames } = await readMedia(perTrack.nats.nc, perTrack.subjects, call.callSid);
      for (const m of messages) {
        const track = m.json.track as keyof typeof SPEAKERS;
        expect(m.subject).toBe(perTrack.subjects.media(call.callSid, track));
        expect(m.json).toMatchObject({ type: 'media.frames.v2', speaker: SPEAKERS[track] });
        expect(m.msgId).toBe(`${call.streamSid}:${track}:${(m.json.frames as Frames)[0]!.chunk}`);
      }
      expectAllFrames(frames.inbound, 60);
      expectAllFrames(frames.outbound, 60);
      ws.close();
    } finally {
      await perTrack.close();
    }
  });

  it("keeps the stream's lifecycle events when Twilio's status callbacks for it arrive first", async () => {
    const call = new TwilioStream();
    for (const StreamEvent of ['stream-started', 'stream-stopped']) {
      const params = {
        AccountSid: ACCOUNT_SID,
        CallSid: call.callSid,
        StreamSid: call.streamSid,
        StreamEvent,
      };
      expect((await postTwilio(h, '/twilio/stream-status', params)).status).toBe(204);
    }
    const ws = await openMediaStream(h);
    await send(ws, call.start());
    await send(ws, call.media('inbound'));
    await send(ws, call.stop());
    await stopped(call);
    const types = (
      await readStream(h.nats.nc, h.subjects.streamName('calls'), h.subjects.all('calls', call.callSid))
    ).map((m) => m.json.type);
    expect(types.sort()).toEqual([
      'call.stream-started.v1',
      'call.stream-status.v1',
      'call.stream-status.v1',
      'call.stream-stopped.v1',
    ]);
    ws.close();
  });

  it('finishes the stream when the socket closes without stop', async () => {
    const { call, ws } = await streamCall(10, { stop: false });
    ws.close();
    expect(await stopped(call)).toMatchObject({
      reason: 'socket-closed',
      framesReceived: { inbound: 10, outbound: 10 },
    });
  });

  it('publishes dtmf and mark events', async () => {
    const call = new TwilioStream();
    const ws = await openMediaStream(h);
    await send(ws, call.start());
    await send(ws, call.dtmf('7'));
    await send(ws, call.mark('greeting-done'));
    const events = await eventually(async () => {
      const stored = await readStream(
        h.nats.nc,
        h.subjects.streamName('calls'),
        h.subjects.all('calls', call.callSid),
      );
      if (stored.length < 3) throw new Error('waiting');
      return stored.map((m) => m.json);
    });
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'call.dtmf.v1', digit: '7', track: 'inbound_track' }),
        expect.objectContaining({ type: 'call.mark.v1', name: 'greeting-done' }),
      ]),
    );
    ws.close();
  });

  it('counts gaps in chunk numbers and out-of-order frames', async () => {
    const gapsBefore = await counter('calltx_gateway_frame_gaps_total', { track: 'inbound' });
    const call = new TwilioStream();
    const ws = await openMediaStream(h);
    await send(ws, call.start());
    const first = call.media('inbound');
    call.media('inbound');
    call.media('inbound'); // two frames Twilio "lost"
    const fourth = call.media('inbound');
    await send(ws, first);
    await send(ws, fourth);
    await send(ws, call.stop());
    await stopped(call);
    expect((await counter('calltx_gateway_frame_gaps_total', { track: 'inbound' })) - gapsBefore).toBe(2);
    ws.close();
  });

  it('rejects bad input, counts every message and keeps the connection', async () => {
    const call = new TwilioStream();
    const ws = await openMediaStream(h);
    const rejected = (reason: string) => counter('calltx_gateway_ws_rejected_total', { reason });
    const before = {
      beforeStart: await rejected('media-before-start'),
      json: await rejected('malformed-json'),
      unknown: await rejected('unknown-event'),
      binary: await rejected('binary'),
      invalid: await rejected('invalid'),
      duplicate: await rejected('duplicate-start'),
      afterStop: await rejected('media-after-stop'),
    };
    await send(ws, call.media('inbound'));
    await send(ws, call.start());
    await new Promise<void>((resolve) => ws.send('{not json', () => resolve()));
    await send(ws, { event: 'teleport' });
    await new Promise<void>((resolve) => ws.send(Buffer.from([1, 2, 3]), { binary: true }, () => resolve()));
    const badPayload = call.media('outbound');
    badPayload.media.payload = '***';
    await send(ws, badPayload);
    await send(ws, call.start());
    await send(ws, call.media('inbound'));
    await send(ws, call.stop());
    await send(ws, call.media('inbound'));
    const stop = await stopped(call);
    expect(stop).toMatchObject({ framesReceived: { inbound: 1, outbound: 0 } });
    expect(await rejected('media-after-stop')).toBe(before.afterStop + 1);
    expect(await rejected('media-before-start')).toBe(before.beforeStart + 1);
    expect(await rejected('malformed-json')).toBe(before.json + 1);
    expect(await rejected('unknown-event')).toBe(before.unknown + 1);
    expect(await rejected('binary')).toBe(before.binary + 1);
    expect(await rejected('invalid')).toBe(before.invalid + 1);
    expect(await rejected('duplicate-start')).toBe(before.duplicate + 1);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('closes the socket with 1009 on an oversized message and counts it', async () => {
    const before = await counter('calltx_gateway_ws_rejected_total', { reason: 'oversized' });
    const ws = await openMediaStream(h);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('x'.repeat(128 * 1024));
    expect(await closed).toBe(1009);
    await eventually(async () =>
      expect(await counter('calltx_gateway_ws_rejected_total', { reason: 'oversized' })).toBe(before + 1),
    );
  });

  it('survives thousands of mutated messages, counting each one', async () => {
    const call = new TwilioStream();
    const ws = await openMediaStream(h);
    await send(ws, call.start());
    const handled = async () =>
      (await counter('calltx_gateway_ws_messages_total')) +
      (await counter('calltx_gateway_ws_rejected_total', { reason: 'binary' })) +
      (await counter('calltx_gateway_ws_rejected_total', { reason: 'malformed-json' }));
    const before = await handled();
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const templates = [
      call.media('inbound'),
      call.dtmf('1'),
      call.mark('m'),
      call.start(),
      call.connected(),
      call.media('outbound'),
    ];
    const MUTATIONS = 3000;
    for (let i = 0; i < MUTATIONS; i += 1) {
      const text = JSON.stringify(templates[i % templates.length]);
      const chars = [...text];
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e += 1) {
        const at = Math.floor(random() * chars.length);
        const op = random();
        if (op < 0.4) chars[at] = String.fromCharCode(32 + Math.floor(random() * 95));
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, ['"', '{', '}', ']', '\\', '0', '-', 'null'][Math.floor(random() * 8)]!);
      }
      if (i % 500 === 0) ws.send(Buffer.from(chars.join('')), { binary: true });
      else ws.send(chars.join(''));
    }
    await send(ws, call.stop());
    await stopped(call);
    await eventually(async () => expect((await handled()) - before).toBe(MUTATIONS + 1));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});
