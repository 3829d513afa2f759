import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partyNumber } from '@calltx/events';
import { startEmbeddedNats, type EmbeddedNats } from '@calltx/devstack';
import {
  ACCOUNT_SID,
  CALLER_NUMBER_HASH_KEY,
  eventually,
  postTwilio,
  readStream,
  sid,
  startGateway,
  type GatewayHarness,
} from '../testing/harness.js';

const CALLER = '+1 (628) 555-0187';
const TECHNICIAN = '+14155550123';
/** The digits of both numbers: none may appear in clear where they must not. */
const DIGITS = ['16285550187', '6285550187', '14155550123', '4155550123'];

const voiceParams = (callSid: string) => ({
  AccountSid: ACCOUNT_SID,
  CallSid: callSid,
  From: CALLER,
  To: TECHNICIAN,
  Direction: 'inbound',
  CallStatus: 'ringing',
  ApiVersion: '2010-04-01',
});

const digitsOf = (value: unknown) => JSON.stringify(value).replace(/\D/g, '');
const holdsNumber = (value: unknown) => DIGITS.some((d) => digitsOf(value).includes(d));

/** Places a call and ends it, so every webhook that carries the parties has been through the gateway. */
async function call(h: GatewayHarness, callSid: string) {
  expect((await postTwilio(h, '/twilio/voice', voiceParams(callSid))).status).toBe(200);
  const status = { ...voiceParams(callSid), CallStatus: 'completed', CallDuration: '3' };
  expect((await postTwilio(h, '/twilio/call-status', status)).status).toBe(204);
}

describe('STORE_CALLER_NUMBERS', () => {
  let on: GatewayHarness;
  let off: GatewayHarness;
  beforeAll(async () => {
    [on, off] = await Promise.all([startGateway({ STORE_CALLER_NUMBERS: 'true' }), startGateway()]);
  });
  afterAll(async () => {
    await Promise.all([on?.close(), off?.close()]);
  });

  it('is off by default', () => {
    expect(off.config.STORE_CALLER_NUMBERS).toBe(false);
    expect(on.config.STORE_CALLER_NUMBERS).toBe(true);
  });

  it('on: the parties in clear go to the internal PARTIES stream only, never on calls.v1 nor in a log line', async () => {
    const callSid = sid('CA');
    await call(on, callSid);
    const parties = await readStream(on.nats.nc, on.subjects.streamName('parties'));
    expect(parties).toEqual([
      {
        subject: on.subjects.parties(callSid),
        seq: 1,
        msgId: `${callSid}:parties`,
        json: { type: 'call.parties.v1', callSid, at: expect.any(String), from: CALLER, to: TECHNICIAN },
      },
    ]);
    const calls = await readStream(on.nats.nc, on.subjects.streamName('calls'));
    expect(calls.map((m) => m.subject.split('.').at(-1))).toEqual(['started', 'status', 'ended']);
    expect(calls.filter((m) => holdsNumber(m))).toEqual([]);
    expect(calls[0]?.json).toMatchObject({
      from: '',
      to: '',
      fromNumber: partyNumber(CALLER, CALLER_NUMBER_HASH_KEY),
      toNumber: partyNumber(TECHNICIAN, CALLER_NUMBER_HASH_KEY),
    });
    for (const family of ['media', 'recordings'] as const)
      expect((await readStream(on.nats.nc, on.subjects.streamName(family))).filter(holdsNumber)).toEqual([]);
    expect(on.logs.lines.length).toBeGreaterThan(0);
    expect(on.logs.lines.filter(holdsNumber)).toEqual([]);
  });

  it('off: no message on the PARTIES stream and no number in clear on any stream or log line', async () => {
    const callSid = sid('CA');
    await call(off, callSid);
    expect(await readStream(off.nats.nc, off.subjects.streamName('parties'))).toEqual([]);
    for (const family of ['calls', 'media', 'recordings'] as const)
      expect((await readStream(off.nats.nc, off.subjects.streamName(family))).filter(holdsNumber)).toEqual(
        [],
      );
    expect(off.logs.lines.filter(holdsNumber)).toEqual([]);
  });
});

describe('STORE_CALLER_NUMBERS while JetStream is unavailable', () => {
  // This suite owns its NATS server: it stops and restarts it.
  let dataDir: string;
  let nats: EmbeddedNats;
  let h: GatewayHarness;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-parties-'));
    nats = await startEmbeddedNats({ dataDir });
    h = await startGateway({ STORE_CALLER_NUMBERS: 'true' }, nats.url);
  });
  afterAll(async () => {
    await h?.close();
    await nats?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers the call and holds the parties in the bounded buffer with call.started, then stores each once', async () => {
    const port = Number(new URL(nats.url).port);
    await nats.stop();
    await eventually(() => expect(h.nats.isConnected()).toBe(false));
    const callSid = sid('CA');
    const res = await postTwilio(h, '/twilio/voice', voiceParams(callSid));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Dial');
    expect(h.gateway.publisher.bufferedFrames).toBe(2);

    nats = await startEmbeddedNats({ dataDir, port });
    await eventually(() => expect(h.gateway.publisher.bufferedFrames).toBe(0), 60_000);
    expect(await readStream(h.nats.nc, h.subjects.streamName('parties'))).toMatchObject([
      { msgId: `${callSid}:parties`, json: { callSid, from: CALLER, to: TECHNICIAN } },
    ]);
    expect(
      await readStream(h.nats.nc, h.subjects.streamName('calls'), h.subjects.call(callSid, 'started')),
    ).toHaveLength(1);
  }, 120_000);
});
