import { z } from 'zod';
import { variable } from '@calltx/config';

/** What createPool's callers read. */
export const DATABASE_VARIABLES = {
  DATABASE_URL: variable(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
    'PostgreSQL connection URL.',
    { secret: true },
  ),
} as const;
