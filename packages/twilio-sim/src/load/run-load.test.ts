import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTwilioApi, type FakeTwilioApi } from '../fake-api/fake-twilio-api.js';
import { toneCall } from '../test-support/audio-fixtures.js';
import { startGatewayStandIn, type GatewayStandIn } from '../test-support/gateway-stand-in.js';
import { runLoad, type LoadCallOutcome } from './run-load.js';

const ACCOUNT_SID = 'AC' + '42'.repeat(16);
const AUTH_TOKEN = 'load-token';

let gateway: GatewayStandIn | undefined;
let api: FakeTwilioApi | undefined;
afterEach(async () => {
  await gateway?.close();
  await api?.close();
});

describe('runLoad', () => {
  it('completes 50 concurrent calls at high speed, each a full signed stream with a recording', async () => {
    gateway = await startGatewayStandIn({ authToken: AUTH_TOKEN });
    api = await startFakeTwilioApi({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    const settled: LoadCallOutcome[] = [];
    const result = await runLoad({
      calls: 50,
      staggerMs: 2,
      publicBaseUrl: gateway.publicBaseUrl,
      connectBaseUrl: gateway.url,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      to: '+15555550123',
      wav: toneCall(2),
      speed: 0,
      recording: api,
      onCallSettled: (outcome) => settled.push(outcome),
    });
    await gateway.streamsClosed(50);

    expect(result).toMatchObject({
      calls: 50,
      succeeded: 50,
      failed: 0,
      framesSent: { inbound: 5000, outbound: 5000 },
    });
    expect(settled).toHaveLength(50);
    const callSids = new Set(result.outcomes.map((o) => (o.ok ? o.call.callSid : '')));
    expect(callSids.size).toBe(50);
    expect(gateway.streams.every((s) => s.signatureValid && s.messages.length === 2 + 200 + 1)).toBe(true);
    expect(gateway.callbacks.every((c) => c.signatureValid)).toBe(true);
    // stream-started, stream-stopped, recording in-progress and completed, per call.
    expect(gateway.callbacks).toHaveLength(200);
    expect(result.outcomes.every((o) => o.ok && api!.hasRecording(o.call.recordingSid!))).toBe(true);
  });
});
