import { z } from 'zod';
import { variable } from './variables.js';

/** Read by the gateway, which hashes phone numbers with it, and the api, which finds calls by number with it. */
export const CALLER_NUMBER_VARIABLES = {
  CALLER_NUMBER_HASH_KEY: variable(
    z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)'),
    'Key of the HMAC-SHA256 that phone numbers are published and stored as (never in clear), and that the api ' +
      'finds a call by its number with. The same value in the gateway and the api; rotating it stops older calls ' +
      'matching their number. See docs/privacy.md.',
    { secret: true },
  ),
};
