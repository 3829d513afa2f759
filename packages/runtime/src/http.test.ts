import { connect, type Socket } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServiceHttp, type ServiceHttp } from './http.js';

const timeouts = { headersMs: 400, requestMs: 800 };
let http: ServiceHttp;
let port: number;

beforeAll(async () => {
  http = createServiceHttp({ registry: new Registry(), checks: {}, timeouts });
  http.app.post('/echo', express.json(), (req, res) => {
    res.json(req.body);
  });
  // A long response (the API's SSE live streams): ticks until the client goes.
  http.app.get('/ticks', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('tick\n'), 100);
    req.on('close', () => clearInterval(timer));
  });
  // An upgraded connection (the gateway's media streams) echoes what it gets, for as long as it lives.
  http.server.on('upgrade', (_req, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
  });
  port = await http.listen(0, '127.0.0.1');
});

afterAll(() => http.close());

/** A raw client: what it received, and when the server closed the connection. */
function rawClient(): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined); // a write after the server's close: the close is what is asserted
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

/** Writes `text` one byte at a time every `everyMs` until the socket closes; returns the bytes written. */
async function drip(socket: Socket, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const char of text) {
    if (socket.destroyed || socket.writableEnded) break;
    socket.write(char);
    sent++;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}

describe('service HTTP server timeouts', () => {
  it('answers 408 and closes a request whose body is dripped slower than the request timeout allows', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(200) });
    const client = rawClient();
    client.socket.write(
      `POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const sent = await drip(client.socket, body, 20);
    await client.closed;
    expect(sent).toBeLessThan(body.length);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a request whose headers are dripped slower than the headers timeout allows', async () => {
    const client = rawClient();
    const head = `GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: ${'y'.repeat(200)}\r\n\r\n`;
    const sent = await drip(client.socket, head, 10);
    await client.closed;
    expect(sent).toBeLessThan(head.length);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps streaming a response long past the request timeout', async () => {
    const client = rawClient();
    client.socket.write('GET /ticks HTTP/1.1\r\nHost: test\r\n\r\n');
    const ticks = () => client.received().split('tick').length - 1;
    await expect.poll(ticks, { timeout: 5_000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, timeouts.requestMs * 2 + 500));
    const before = ticks();
    await expect.poll(ticks, { timeout: 5_000 }).toBeGreaterThan(before);
    expect(client.received()).not.toContain('408');
    client.socket.destroy();
    await client.closed;
  });

  it('leaves an upgraded connection open long past the request timeout', async () => {
    const client = rawClient();
    client.socket.write('GET /stream HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    await expect.poll(() => client.received(), { timeout: 5_000 }).toMatch(/^HTTP\/1\.1 101 /);
    await new Promise((resolve) => setTimeout(resolve, timeouts.requestMs * 2 + 500));
    client.socket.write('still here');
    await expect.poll(() => client.received(), { timeout: 5_000 }).toContain('still here');
    expect(client.socket.destroyed).toBe(false);
    client.socket.end();
    await client.closed;
  });

  it('serves a prompt request on a keep-alive connection left idle longer than both timeouts', async () => {
    const client = rawClient();
    const body = JSON.stringify({ n: 1 });
    const request = `POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    client.socket.write(request);
    await expect.poll(() => client.received(), { timeout: 5_000 }).toContain('{"n":1}');
    // Idle between requests is the keep-alive timeout's business, not the request timeouts'.
    await new Promise((resolve) => setTimeout(resolve, timeouts.requestMs + 700));
    client.socket.write(request);
    await expect.poll(() => client.received().split('{"n":1}').length - 1, { timeout: 5_000 }).toBe(2);
    expect(client.received()).not.toContain('408');
    client.socket.end();
    await client.closed;
  });
});
