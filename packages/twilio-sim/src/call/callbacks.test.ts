import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Addressing } from './addressing.js';
import { CallbackSender } from './callbacks.js';

/** A real HTTP server that answers 503 for `downMs` after the first request it sees, then 204. */
async function flakyServer(downMs: number): Promise<{ url: string; times: number[]; server: Server }> {
  const times: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      times.push(Date.now());
      res.statusCode = times[0]! + downMs > Date.now() ? 503 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, times, server };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function deliver(base: string, fragment: string) {
  const sender = new CallbackSender(new Addressing(base), 'auth-token');
  sender.send('recording-status', 'completed', `${base}/twilio/recording-status#${fragment}`, 'POST', {
    CallSid: `CA${'0'.repeat(32)}`,
  });
  await sender.settled();
  return sender.deliveries[0]!;
}

describe('CallbackSender retries', () => {
  it('spreads its retries over the total time, so a server down for a second still gets the callback', async () => {
    const flaky = await flakyServer(1_200);
    server = flaky.server;
    // 6 attempts over 3 s: one every 500 ms. Sent back to back, all six would land within the outage.
    const delivery = await deliver(flaky.url, 'rc=5&rp=5xx&tt=3000');
    expect(delivery.status).toBe(204);
    expect(delivery.attempts).toBe(flaky.times.length);
    expect(delivery.attempts).toBeLessThanOrEqual(5);
  });

  it('makes at most rc retries, within the total time budget', async () => {
    const flaky = await flakyServer(60_000);
    server = flaky.server;
    const delivery = await deliver(flaky.url, 'rc=5&rp=5xx&tt=1200');
    // The last attempt is refused, or cut by the budget on a busy machine: either way the callback is lost.
    expect(delivery.status ?? delivery.error).not.toBe(204);
    expect(delivery.attempts).toBe(6);
    expect(flaky.times.length).toBeLessThanOrEqual(6);
  });
});
