import { z } from 'zod';
import { callSid, isoTime, party } from './common.js';

/**
 * Internal: a call's parties exactly as Twilio gave them (`From`, `To`), published by the gateway on
 * `parties.v1.<CallSid>` only where the operator keeps numbers in clear (`STORE_CALLER_NUMBERS`). The public
 * `call.started.v1` never carries a phone number in clear (docs/privacy.md).
 */
export const CallParties = z.object({
  type: z.literal('call.parties.v1'),
  callSid,
  at: isoTime,
  from: party,
  to: party,
});
export type CallParties = z.infer<typeof CallParties>;
