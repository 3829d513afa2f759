import twilio from 'twilio';
import { callbackUrl, publicWebSocketUrl } from './signature.js';

// twilio loads its modules lazily; touching them here moves that cost from the first call to start-up.
const { VoiceResponse } = twilio.twiml;

export const E164 = /^\+[1-9]\d{6,14}$/;

export const TWILIO_PREFIX = '/twilio';

export const PATHS = {
  voice: '/twilio/voice',
  mediaStream: '/twilio/media-stream',
  streamStatus: '/twilio/stream-status',
  recordingStatus: '/twilio/recording-status',
  callStatus: '/twilio/call-status',
} as const;

export interface DialTwimlInput {
  publicBaseUrl: string;
  callerId: string;
  to: string;
  /** Context handed to the stream as `<Parameter>`s: stream URLs can't carry a query string. */
  streamParameters: Record<string, string>;
}

/**
 * Stream both tracks live, record both channels, then dial the technician. Built with the twilio library, which
 * escapes every attribute and text node.
 */
export function dialTwiml({ publicBaseUrl, callerId, to, streamParameters }: DialTwimlInput): string {
  const response = new VoiceResponse();
  const stream = response.start().stream({
    url: publicWebSocketUrl(publicBaseUrl, PATHS.mediaStream),
    track: 'both_tracks',
    statusCallback: callbackUrl(publicBaseUrl, PATHS.streamStatus),
    statusCallbackMethod: 'POST',
  });
  for (const [name, value] of Object.entries(streamParameters)) stream.parameter({ name, value });
  response.start().recording({
    channels: 'dual',
    trim: 'do-not-trim',
    recordingStatusCallback: callbackUrl(publicBaseUrl, PATHS.recordingStatus),
    recordingStatusCallbackMethod: 'POST',
    recordingStatusCallbackEvent: ['in-progress', 'completed', 'absent'],
  });
  response.dial({ callerId }).number(to);
  return response.toString();
}

/** A polite refusal for a call we won't place. */
export function refusalTwiml(message: string): string {
  const response = new VoiceResponse();
  response.say(message);
  response.hangup();
  return response.toString();
}
