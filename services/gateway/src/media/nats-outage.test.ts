import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedNats, type EmbeddedNats } from '@calltx/devstack';
import {
  TwilioStream,
  eventually,
  openMediaStream,
  readMedia,
  readStream,
  send,
  startGateway,
  type GatewayHarness,
} from '../testing/harness.js';

// This suite owns its NATS server: it stops and restarts it mid-call.
let dataDir: string;
let nats: EmbeddedNats;
let h: GatewayHarness;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gateway-outage-'));
  nats = await startEmbeddedNats({ dataDir });
  h = await startGateway({ MEDIA_FLUSH_MS: '10' }, nats.url);
});
afterAll(async () => {
  await h.close();
  await nats.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const ready = async () => (await fetch(`${h.baseUrl}/readyz`)).status;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('NATS stopped and restarted mid-call', () => {
  it('reports not ready while down, buffers frames and stores every one exactly once after the restart', async () => {
    const port = Number(new URL(nats.url).port);
    const call = new TwilioStream();
    const ws = await openMediaStream(h);
    await send(ws, call.start());
    const sendFrames = async (count: number) => {
      for (let i = 0; i < count; i += 1) {
        await send(ws, call.media('inbound'));
        await send(ws, call.media('outbound'));
        await pause(2);
      }
    };

    await sendFrames(100);
    await nats.stop();
    await eventually(async () => expect(await ready()).toBe(503));
    await sendFrames(150); // received while JetStream is unreachable
    expect(h.gateway.publisher.bufferedFrames).toBeGreaterThan(0);
    const scraped = await (await fetch(`${h.baseUrl}/metrics`)).text();
    expect(scraped).toMatch(
      new RegExp(`^calltx_gateway_buffered_frames\\{.*\\} ${h.gateway.publisher.bufferedFrames}$`, 'm'),
    );

    nats = await startEmbeddedNats({ dataDir, port });
    await eventually(async () => expect(await ready()).toBe(200), 30_000);
    await sendFrames(100);
    await send(ws, call.stop());

    const stop = await eventually(async () => {
      const [event] = await readStream(
        h.nats.nc,
        h.subjects.streamName('calls'),
        h.subjects.call(call.callSid, 'stream-stopped'),
      );
      if (!event) throw new Error('no stream-stopped yet');
      return event.json;
    }, 30_000);
    expect(stop).toMatchObject({
      framesReceived: { inbound: 350, outbound: 350 },
      framesLost: { inbound: 0, outbound: 0 },
    });
    const { frames } = await readMedia(h.nats.nc, h.subjects, call.callSid);
    for (const track of ['inbound', 'outbound'] as const) {
      expect(frames[track].map((f) => f.chunk)).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    }
    expect(h.logs.lines.some((l) => l.msg === 'nats disconnected')).toBe(true);
    ws.close();
  }, 120_000);

  it('counts frames beyond the buffer bound as lost, with an error log, never silently', async () => {
    const small = await startGateway({ MEDIA_FLUSH_MS: '10', MEDIA_BUFFER_MAX_FRAMES: '100' }, nats.url);
    try {
      const port = Number(new URL(nats.url).port);
      const call = new TwilioStream();
      const ws = await openMediaStream(small);
      await send(ws, call.start());
      await nats.stop();
      await eventually(async () => expect((await fetch(`${small.baseUrl}/readyz`)).status).toBe(503));
      for (let i = 0; i < 100; i += 1) {
        await send(ws, call.media('inbound'));
        await send(ws, call.media('outbound'));
      }
      nats = await startEmbeddedNats({ dataDir, port });
      await send(ws, call.stop());
      const stop = await eventually(async () => {
        const [event] = await readStream(
          small.nats.nc,
          small.subjects.streamName('calls'),
          small.subjects.call(call.callSid, 'stream-stopped'),
        );
        if (!event) throw new Error('no stream-stopped yet');
        return event.json as { framesReceived: Record<string, number>; framesLost: Record<string, number> };
      }, 30_000);
      const lost = stop.framesLost.inbound! + stop.framesLost.outbound!;
      expect(stop.framesReceived).toEqual({ inbound: 100, outbound: 100 });
      expect(lost).toBe(100);
      const { frames } = await readMedia(small.nats.nc, small.subjects, call.callSid);
      expect(frames.inbound.length + frames.outbound.length).toBe(200 - lost);
      expect(
        small.logs.lines.some(
          (l) => l.level === 50 && l.msg === 'media buffer full (JetStream unreachable?): frames lost',
        ),
      ).toBe(true);
      ws.close();
    } finally {
      await small.close();
    }
  }, 120_000);
});
