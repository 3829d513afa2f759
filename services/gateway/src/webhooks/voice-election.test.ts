import { startNatsCluster, type NatsCluster } from '@calltx/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCOUNT_SID,
  eventually,
  postTwilio,
  readStream,
  sid,
  startGateway,
  type GatewayHarness,
} from '../testing/harness.js';

let cluster: NatsCluster;
let h: GatewayHarness;
/** A gateway whose buffer holds 100 frames or events. */
let small: GatewayHarness;
beforeAll(async () => {
  cluster = await startNatsCluster(3);
  h = await startGateway({ NATS_STREAM_REPLICAS: '3' }, cluster.url);
  small = await startGateway({ NATS_STREAM_REPLICAS: '3', MEDIA_BUFFER_MAX_FRAMES: '100' }, cluster.url);
}, 60_000);
afterAll(async () => {
  await h?.close();
  await small?.close();
  await cluster?.stop();
});

const voiceParams = (callSid: string) => ({
  AccountSid: ACCOUNT_SID,
  CallSid: callSid,
  From: 'client:agent-7',
  To: '+14155550123',
  Direction: 'inbound',
  CallStatus: 'ringing',
  ApiVersion: '2010-04-01',
});

describe('POST /twilio/voice on a JetStream cluster', () => {
  it('answers TwiML while JetStream has no leader (503 once the bounded buffer is full), stores call.started once when it returns', async () => {
    const calls = h.subjects.streamName('calls');
    const leader = await eventually(async () => {
      const index = await cluster.streamLeader(calls);
      expect(index).toBeTypeOf('number');
      return index!;
    });
    const survivor = [0, 1, 2].find((i) => i !== leader)!;
    const down = [0, 1, 2].filter((i) => i !== survivor);
    for (const i of down) await cluster.kill(i);
    // One server of three: no quorum, so neither the stream nor the meta layer has a leader.
    await eventually(async () => {
      expect(await cluster.streamLeader(calls)).toBeUndefined();
      expect(await cluster.metaLeader()).toBeUndefined();
    }, 30_000);
    await eventually(() => expect(h.nats.isConnected()).toBe(true));

    const callSid = sid('CA');
    const res = await postTwilio(h, '/twilio/voice', voiceParams(callSid));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    const twiml = await res.text();
    expect(twiml).toContain('<Dial');
    expect(twiml).toContain('/twilio/media-stream');
    expect(h.gateway.publisher.bufferedFrames).toBe(1);
    expect(h.logs.lines.map((line) => line.msg)).toContain(
      'call started while JetStream is unavailable: its event is held',
    );

    // The buffer is bounded: once it is full, the voice webhook asks Twilio to retry, as before.
    await eventually(() => expect(small.nats.isConnected()).toBe(true));
    const held = await Promise.all(
      Array.from({ length: 100 }, () => postTwilio(small, '/twilio/voice', voiceParams(sid('CA')))),
    );
    expect(held.map((r) => r.status)).toEqual(Array.from({ length: 100 }, () => 200));
    const refused = await postTwilio(small, '/twilio/voice', voiceParams(sid('CA')));
    expect(refused.status).toBe(503);

    for (const i of down) await cluster.restart(i);
    await eventually(() => expect(h.gateway.publisher.bufferedFrames).toBe(0), 60_000);
    await eventually(() => expect(small.gateway.publisher.bufferedFrames).toBe(0), 60_000);
    const stored = await eventually(async () => {
      const messages = await readStream(h.nats.nc, calls, h.subjects.call(callSid, 'started'));
      expect(messages).toHaveLength(1);
      return messages;
    }, 30_000);
    expect(stored[0]).toMatchObject({
      msgId: `${callSid}:started`,
      json: { type: 'call.started.v1', callSid },
    });
  }, 120_000);
});

describe('status callbacks on a JetStream cluster', () => {
  it('hold a recording callback through an outage: 503 until stored (Twilio retries), stored once without the retry', async () => {
    const recordings = h.subjects.streamName('recordings');
    const leader = await eventually(async () => {
      const index = await cluster.streamLeader(recordings);
      expect(index).toBeTypeOf('number');
      return index!;
    }, 30_000);
    const survivor = [0, 1, 2].find((i) => i !== leader)!;
    const down = [0, 1, 2].filter((i) => i !== survivor);
    for (const i of down) await cluster.kill(i);
    await eventually(async () => expect(await cluster.streamLeader(recordings)).toBeUndefined(), 30_000);
    await eventually(() => expect(h.nats.isConnected()).toBe(true));

    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const params = {
      AccountSid: ACCOUNT_SID,
      CallSid: callSid,
      RecordingSid: recordingSid,
      RecordingStatus: 'completed',
    };
    // Not stored, so not acknowledged: Twilio will retry it.
    const refused = await postTwilio(h, '/twilio/recording-status', params);
    expect(refused.status).toBe(503);
    expect(h.gateway.publisher.bufferedFrames).toBe(1);

    // JetStream returns: the held event is stored with no retry from Twilio (a lost retry no longer loses it).
    for (const i of down) await cluster.restart(i);
    const stored = await eventually(async () => {
      const messages = await readStream(h.nats.nc, recordings, h.subjects.recording(callSid, 'completed'));
      expect(messages).toHaveLength(1);
      return messages;
    }, 60_000);
    expect(stored[0]).toMatchObject({
      msgId: `${recordingSid}:completed`,
      json: { type: 'recording.status.v1', callSid, recordingSid },
    });
    // Twilio's retry is answered 204 and stores nothing twice.
    expect((await postTwilio(h, '/twilio/recording-status', params)).status).toBe(204);
    expect(await readStream(h.nats.nc, recordings, h.subjects.recording(callSid, 'completed'))).toHaveLength(
      1,
    );
    await cluster.waitForHealthy(undefined, 60_000);
  }, 120_000);
});
