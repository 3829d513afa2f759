import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ownCpuSeconds } from '../cpu.js';

/**
 * The baseline for the gateway benchmark: a bare `ws` server that only JSON-parses each Media Streams message.
 * It answers the voice webhook with the same stream URL so the simulator drives both servers identically.
 */
let frames = 0;
const server = createServer((req, res) => {
  if (req.url === '/cpu') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ cpuSeconds: ownCpuSeconds(), frames }));
    return;
  }
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'text/xml');
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Start><Stream url="${process.env.PUBLIC_WS_URL}" track="both_tracks"/></Start></Response>`,
    );
  });
});
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { event?: string };
    if (message.event === 'media') frames += 1;
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
