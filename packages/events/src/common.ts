import { z } from 'zod';
import { CALL_SID_PATTERN } from './subjects.js';

const sidPattern = (prefix: string) => new RegExp(`^${prefix}[0-9a-fA-F]{32}$`);
const sid = (prefix: string) =>
  z.string().regex(sidPattern(prefix), `must be ${prefix} followed by 32 hex digits`);

export const callSid = z.string().regex(CALL_SID_PATTERN, 'must be CA followed by 32 hex digits');
export const STREAM_SID_PATTERN = sidPattern('MZ');
export const streamSid = z.string().regex(STREAM_SID_PATTERN, 'must be MZ followed by 32 hex digits');
export const accountSid = sid('AC');
export const recordingSid = sid('RE');
export const SPEAKER_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const speaker = z.string().regex(SPEAKER_PATTERN);
/**
 * Whether an ISO 8601 time is one Postgres's timestamptz takes: it has no year 0000 and refuses offsets beyond
 * ±15:59, both of which ISO (and zod) allow.
 */
export const withinPostgresRange = (iso: string): boolean => {
  const offsetHours = /([+-])(\d{2}):?\d{2}$/.exec(iso)?.[2];
  return !iso.startsWith('0000') && (offsetHours === undefined || Number(offsetHours) <= 15);
};
const POSTGRES_RANGE = 'must be a time from year 0001 to 9999 with an offset within ±15:59';
export const isoTime = z.iso.datetime({ offset: true }).refine(withinPostgresRange, POSTGRES_RANGE);
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
