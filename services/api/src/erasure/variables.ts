import { z } from 'zod';
import { variable, type VariableSpec } from '@calltx/config';

/** The api's erasure settings: retention and how soon an unfinished erasure is asked again. */
export const ERASURE_VARIABLES = {
  RETENTION_DAYS: variable(
    z.coerce.number().int().min(0).max(36_500).default(0),
    'Calls that ended more than this many days ago are erased everywhere (stream audio, recordings, transcripts, ' +
      'rows, stream messages, the recording at Twilio), as by `DELETE /api/v1/calls/{callSid}`. 0 keeps calls ' +
      'forever. Calls whose recording is still being downloaded wait for the next sweep.',
  ),
  ERASURE_RESUME_AFTER_SECONDS: variable(
    z.coerce.number().int().min(1).max(86_400).default(300),
    'An erasure not finished this long after it was last asked for is asked again (a service crashed midway, a ' +
      'request was lost): every step is idempotent.',
  ),
  ERASURE_SWEEP_INTERVAL_SECONDS: variable(
    z.coerce.number().int().min(1).max(86_400).default(60),
    'How often each api replica looks for erasures to resume and, with RETENTION_DAYS, calls to erase.',
  ),
} as const satisfies Record<string, VariableSpec>;
