import { createHmac } from 'node:crypto';
import { z } from 'zod';

/**
 * A phone number as calltx publishes it (added in 0.4.0): never in clear, but as an HMAC-SHA256 of its digits under
 * the operator's `CALLER_NUMBER_HASH_KEY` (lower-case hex), and its last two digits for display. Whoever holds the
 * key finds a number by hashing it the same way (`hashPhoneDigits`); without the key the hash reveals nothing.
 */
export const PartyNumber = z.object({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  last2: z.string().regex(/^\d{2}$/),
});
export type PartyNumber = z.infer<typeof PartyNumber>;

/** Separators people and Twilio write phone numbers with. */
const PHONE = /^\+?[\d\s().-]+$/;

/**
 * The digits of a party that is a phone number (7 to 15 digits, E.164's longest, with or without `+` and
 * separators), else undefined: a browser client (`client:alice`), a SIP address or an empty party is not one.
 * The number is normalised to its digits only, so `+1 (555) 010-0000` and `+15550100000` hash alike; a number
 * written nationally (without its country code) hashes differently from its E.164 form.
 */
export function phoneDigits(party: string): string | undefined {
  const trimmed = party.trim();
  if (!PHONE.test(trimmed)) return undefined;
  const digits = trimmed.replace(/\D/g, '');
  return digits.length >= 7 && digits.length <= 15 ? digits : undefined;
}

/** HMAC-SHA256 of a phone number's digits under the operator's key, lower-case hex. */
export const hashPhoneDigits = (digits: string, key: string): string =>
  createHmac('sha256', key).update(digits, 'utf8').digest('hex');

/** The published form of a party that is a phone number, or undefined when it is not one. */
export function partyNumber(party: string, key: string): PartyNumber | undefined {
  const digits = phoneDigits(party);
  return digits === undefined ? undefined : { hash: hashPhoneDigits(digits, key), last2: digits.slice(-2) };
}
