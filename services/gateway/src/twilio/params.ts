import { z } from 'zod';
import { schemas } from '@calltx/shared';

/** Fields Twilio posts to our webhooks, validated before anything is published. Unknown fields are ignored. */
const optionalInt = z.coerce.number().int().min(0).optional().catch(undefined);

export const VoiceParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  To: z.string().max(256).default(''),
  From: z.string().max(256).default(''),
  Direction: z.string().max(64).default('inbound'),
});

export const RecordingStatusParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  RecordingSid: schemas.recordingSid,
  RecordingStatus: z.enum(['in-progress', 'completed', 'absent', 'failed']),
  RecordingUrl: z.string().max(2048).optional(),
  RecordingDuration: optionalInt,
  RecordingChannels: z.coerce.number().int().min(1).max(2).optional().catch(undefined),
  RecordingSource: z.string().max(64).optional(),
  RecordingStartTime: z.string().max(64).optional(),
  ErrorCode: z.string().max(16).optional(),
});

export const StreamStatusParams = z.object({
  CallSid: schemas.callSid,
  AccountSid: schemas.accountSid,
  StreamSid: schemas.streamSid,
  StreamEvent: z.string().regex(/^[a-z-]{1,32}$/),
  StreamName: z.string().max(256).optional(),
  StreamError: z.string().max(1024).optional(),
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
