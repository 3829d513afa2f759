import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  TwilioStream,
  eventually,
  metricValue,
  openMediaStream,
  readStream,
  send,
  startGateway,
  type GatewayHarness,
} from '../testing/harness.js';

const MAX_SOCKETS = 3;
let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway({ MEDIA_START_TIMEOUT_MS: '1000', MEDIA_MAX_SOCKETS: String(MAX_SOCKETS) });
});
afterAll(async () => {
  await h.close();
});

const closeCode = (ws: WebSocket) =>
  new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => {
      if (ws.readyState === WebSocket.CLOSED) return undefined;
      const closed = closeCode(ws);
      ws.close();
      return closed;
    }),
  );
  await eventually(() => expect(h.gateway.sessions.size).toBe(0));
}

describe('hostile media-stream sockets', () => {
  it('closes a signed socket that never sends start (1008) and counts it; a started one stays open', async () => {
    const closedBefore = await metricValue(h, 'calltx_gateway_ws_closed_total', { reason: 'start-timeout' });
    const silent = await openMediaStream(h);
    const call = new TwilioStream();
    const started = await openMediaStream(h);
    await send(started, call.connected());
    await send(started, call.start());
    const silentClosed = closeCode(silent);
    await send(silent, call.connected()); // `connected` alone does not count as a start
    expect(await silentClosed).toBe(1008);
    expect(started.readyState).toBe(WebSocket.OPEN);
    expect(await metricValue(h, 'calltx_gateway_ws_closed_total', { reason: 'start-timeout' })).toBe(
      closedBefore + 1,
    );
    await closeAll([started]);
  });

  it('rejects a start whose custom parameters hold a NUL: counted, nothing published, and the socket times out', async () => {
    const invalidBefore = await metricValue(h, 'calltx_gateway_ws_rejected_total', { reason: 'invalid' });
    const call = new TwilioStream();
    const ws = await openMediaStream(h);
    const closed = closeCode(ws);
    await send(ws, call.start({ note: 'a\u0000b' }));
    expect(await closed).toBe(1008);
    expect(await metricValue(h, 'calltx_gateway_ws_rejected_total', { reason: 'invalid' })).toBe(
      invalidBefore + 1,
    );
    expect(
      await readStream(h.nats.nc, h.subjects.streamName('calls'), h.subjects.all('calls', call.callSid)),
    ).toEqual([]);
  });

  it('refuses signed upgrades beyond MEDIA_MAX_SOCKETS with 503, counted, and takes them again once one closes', async () => {
    const refusedBefore = await metricValue(h, 'calltx_gateway_ws_refused_total', { reason: 'max-sockets' });
    const open: WebSocket[] = [];
    for (let i = 0; i < MAX_SOCKETS; i += 1) {
      const ws = await openMediaStream(h);
      await send(ws, new TwilioStream().start());
      open.push(ws);
    }
    await expect(openMediaStream(h)).rejects.toThrow('refused with 503');
    await expect(openMediaStream(h)).rejects.toThrow('refused with 503');
    expect(await metricValue(h, 'calltx_gateway_ws_refused_total', { reason: 'max-sockets' })).toBe(
      refusedBefore + 2,
    );
    expect(await metricValue(h, 'calltx_gateway_media_sockets')).toBe(MAX_SOCKETS);

    const first = open.shift()!;
    const closed = closeCode(first);
    first.close();
    await closed;
    await eventually(() => expect(h.gateway.sessions.size).toBe(MAX_SOCKETS - 1));
    open.push(await openMediaStream(h));
    await closeAll(open);
  });

  it('counts a text frame that is not UTF-8 as rejected and closes the socket with 1007', async () => {
    const rejectedBefore = await metricValue(h, 'calltx_gateway_ws_rejected_total', {
      reason: 'invalid-utf8',
    });
    const ws = await openMediaStream(h);
    await send(ws, new TwilioStream().start());
    const closed = closeCode(ws);
    ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    expect(await closed).toBe(1007);
    await eventually(async () =>
      expect(await metricValue(h, 'calltx_gateway_ws_rejected_total', { reason: 'invalid-utf8' })).toBe(
        rejectedBefore + 1,
      ),
    );
    expect(
      await metricValue(h, 'calltx_gateway_ws_closed_total', { reason: 'invalid-utf8' }),
    ).toBeGreaterThan(0);
    await eventually(() => expect(h.gateway.sessions.size).toBe(0));
  });
});
