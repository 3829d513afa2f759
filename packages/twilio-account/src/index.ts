import { z } from 'zod';
import { httpUrl, variable } from '@calltx/config';

/** A Twilio SID: its two-letter prefix (AC account, SK API key, AP TwiML App…) and 32 hex digits. */
export const twilioSid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`);

/** The Twilio account, read by every service that talks to Twilio (each picks the ones it uses). */
export const TWILIO_ACCOUNT_VARIABLES = {
  TWILIO_ACCOUNT_SID: variable(twilioSid('AC'), 'Twilio Account SID (AC…).'),
  TWILIO_AUTH_TOKEN: variable(
    z.string().min(16, 'must be a Twilio auth token'),
    'Twilio auth token: validates webhook signatures and authenticates REST calls.',
    { secret: true },
  ),
  TWILIO_API_BASE_URL: variable(
    httpUrl.default('https://api.twilio.com'),
    "Base URL of Twilio's REST API (the simulator's in local runs).",
  ),
} as const;
