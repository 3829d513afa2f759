import { randomBytes } from 'node:crypto';

/** Twilio SID prefixes used by the simulator: calls, streams, accounts, recordings, TwiML apps. */
export type SidPrefix = 'CA' | 'MZ' | 'AC' | 'RE' | 'AP';

/** A Twilio-shaped SID: two-letter prefix + 32 lowercase hex digits (e.g. `CA3f…`). */
export function newSid(prefix: SidPrefix): string {
  return prefix + randomBytes(16).toString('hex');
}
