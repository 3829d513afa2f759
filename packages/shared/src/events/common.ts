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
/**
 * Free text that may reach Postgres: bounded, and without NUL, which `text` and `jsonb` columns refuse. Checked at
 * the edge, since a message the database refuses fails the same way on every redelivery.
 */
export const text = (maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .regex(/^[^\0]*$/, 'must not contain a NUL character');
/** E.164 numbers and Twilio Client identities are personal data: logged only in redacted fields. */
export const party = text(256);
