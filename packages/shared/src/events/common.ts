import { z } from 'zod';
import { CALL_SID_PATTERN } from '../nats/subjects.js';

const sid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`);

export const callSid = z.string().regex(CALL_SID_PATTERN, 'must be CA followed by 32 hex digits');
export const streamSid = sid('MZ');
export const accountSid = sid('AC');
export const recordingSid = sid('RE');
export const speaker = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/);
export const isoTime = z.iso.datetime({ offset: true });
/** E.164 numbers and Twilio Client identities are personal data: logged only in redacted fields. */
export const party = z.string().max(256);
