import { z } from 'zod';
import { schemas } from '@calltx/events';

/** Fields Twilio posts to our webhooks, validated before anything is published. Unknown fields are ignored. */
const optionalInt = z.coerce.number().int().min(0).optional().catch(undefined);

export const VoiceParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  To: schemas.text(256).default(''),
  From: schemas.text(256).default(''),
  Direction: schemas.text(64).default('inbound'),
});

export const RecordingStatusParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  RecordingSid: schemas.recordingSid,
  RecordingStatus: z.enum(['in-progress', 'completed', 'absent', 'failed']),
  RecordingUrl: schemas.text(2048).optional(),
  RecordingDuration: optionalInt,
  RecordingChannels: z.coerce.number().int().min(1).max(2).optional().catch(undefined),
  RecordingSource: schemas.text(64).optional(),
  RecordingStartTime: schemas.text(64).optional(),
  ErrorCode: schemas.text(16).optional(),
});

export const StreamStatusParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  StreamSid: schemas.streamSid,
  StreamEvent: z.string().regex(/^[a-z-]{1,32}$/),
  StreamName: schemas.text(256).optional(),
  StreamError: schemas.text(1024).optional(),
});

export const CallStatusParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  CallStatus: z.enum([
    'queued',
    'initiated',
    'ringing',
    'in-progress',
    'completed',
    'busy',
    'failed',
    'no-answer',
    'canceled',
  ]),
  CallDuration: optionalInt,
  SequenceNumber: optionalInt,
});

export const TERMINAL_CALL_STATUSES = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);
