import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { Subjects } from '@calltx/events';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  CALLER_ID,
  CALLER_NUMBER_HASH_KEY,
  PUBLIC_BASE_URL,
  TwilioStream,
  eventually,
  openMediaStream,
  readMedia,
  readStream,
  send,
} from './testing/harness.js';
import { spawnGateway } from './testing/process.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const subjects = new Subjects(prefix);

afterAll(async () => {
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  for (const family of ['calls', 'media', 'recordings', 'transcripts'] as const)
    await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
  await nc.close();
});

describe('gateway process', () => {
  it('exits non-zero naming every invalid variable', async () => {
    await expect(
      spawnGateway({
        PUBLIC_BASE_URL: 'not a url',
        TWILIO_AUTH_TOKEN: '',
        TWILIO_ACCOUNT_SID: 'AC1',
        TWILIO_CALLER_ID: '+15005550006',
        CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
      }),
    ).rejects.toThrow(
      /exited with 1: gateway: Invalid configuration:\n {2}- TWILIO_ACCOUNT_SID .*\n {2}- TWILIO_AUTH_TOKEN is required\n {2}- PUBLIC_BASE_URL must be an http\(s\) URL/,
    );
  });

  it('on SIGTERM stores every frame it received from an active stream, then exits 0', async () => {
    const gateway = await spawnGateway({
      NATS_URL,
      NATS_SUBJECT_PREFIX: prefix,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_CALLER_ID: CALLER_ID,
      CALLER_NUMBER_HASH_KEY,
      PUBLIC_BASE_URL,
      SHUTDOWN_GRACE_MS: '3000',
    });
    const call = new TwilioStream();
    const ws = await openMediaStream(gateway);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    let open = true;
    void closed.then(() => (open = false));
    await send(ws, call.start());
    let sent = 0;
    while (open) {
      if (sent === 200) gateway.child.kill('SIGTERM');
      try {
        await send(ws, call.media('inbound'));
        await send(ws, call.media('outbound'));
        sent += 1;
      } catch {
        break;
      }
      if (sent % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await closed).toBe(1001);
    expect(await gateway.exited).toBe(0);
    expect(sent).toBeGreaterThan(200);

    const nc = await connect({ servers: NATS_URL });
    const [stop] = await eventually(() =>
      readStream(nc, subjects.streamName('calls'), subjects.call(call.callSid, 'stream-stopped')),
    );
    const stopEvent = stop!.json as {
      reason: string;
      framesReceived: Record<string, number>;
      framesLost: Record<string, number>;
    };
    expect(stopEvent.reason).toBe('shutdown');
    expect(stopEvent.framesLost).toEqual({ inbound: 0, outbound: 0 });
    const { frames } = await readMedia(nc, subjects, call.callSid);
    for (const track of ['inbound', 'outbound'] as const) {
      const received = stopEvent.framesReceived[track]!;
      expect(received).toBeGreaterThanOrEqual(200);
      expect(frames[track].map((f) => f.chunk)).toEqual(Array.from({ length: received }, (_, i) => i + 1));
    }
    await nc.close();
  });
});
