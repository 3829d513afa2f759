import { describe, expect, it } from 'vitest';
import { SimulatedCallError } from '../errors.js';
import { gatewayTwiml } from '../test-support/gateway-stand-in.js';
import { parseCallTwiml } from './parse-twiml.js';

const VOICE_URL = 'https://gw.example.test/twilio/voice';

describe('parseCallTwiml', () => {
  it('reads the stream, recording and dial the gateway asks for', () => {
    const parsed = parseCallTwiml(gatewayTwiml('https://gw.example.test', '+15555550123'), VOICE_URL);
    expect(parsed.stream).toEqual({
      url: 'wss://gw.example.test/twilio/media-stream',
      track: 'both_tracks',
      statusCallback: 'https://gw.example.test/twilio/stream-status',
      statusCallbackMethod: 'POST',
      parameters: { sessionId: 'session-1', agentId: 'agent-42' },
    });
    expect(parsed.recording).toMatchObject({
      channels: 'dual',
      recordingStatusCallback: 'https://gw.example.test/twilio/recording-status',
      recordingStatusCallbackMethod: 'POST',
    });
    expect([...parsed.recording!.recordingStatusCallbackEvents]).toEqual([
      'in-progress',
      'completed',
      'absent',
    ]);
    expect(parsed.dial).toEqual({ callerId: '+15555550100', numbers: ['+15555550123'] });
  });

  it('resolves relative URLs against the webhook URL and applies Twilio defaults', () => {
    const twiml = `<Response><Start><Stream url="/media?x=1" statusCallback="status" statusCallbackMethod="get"/>
      </Start><Start><Recording recordingStatusCallback="/rec"/></Start>
      <Dial><Number sendDigits="1">+15555550199</Number></Dial></Response>`;
    const parsed = parseCallTwiml(twiml, VOICE_URL);
    expect(parsed.stream).toMatchObject({
      url: 'wss://gw.example.test/media?x=1',
      track: 'inbound_track',
      statusCallback: 'https://gw.example.test/twilio/status',
      statusCallbackMethod: 'GET',
      parameters: {},
    });
    expect([...parsed.recording!.recordingStatusCallbackEvents]).toEqual(['completed']);
    expect(parsed.dial?.numbers).toEqual(['+15555550199']);
  });

  it('rejects responses without a stream or not well-formed', () => {
    for (const twiml of ['<Response><Say>Hi</Say></Response>', '<Response><Start>', 'plain text']) {
      expect(() => parseCallTwiml(twiml, VOICE_URL)).toThrow(SimulatedCallError);
    }
  });
});
