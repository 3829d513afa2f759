import { z } from 'zod';
import { absolutePath, variable } from '@calltx/config';

/** The sslmode values node-postgres can honour: it cannot fall back to plaintext as `allow`/`prefer` do. */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** What createPool's callers read (databaseConnection turns them into a connection). */
export const DATABASE_VARIABLES = {
  DATABASE_URL: variable(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).refine(
      (url) => {
        const mode = new URL(url).searchParams.get('sslmode');
        return mode === null || (SSL_MODES as readonly string[]).includes(mode);
      },
      { error: `sslmode must be one of ${SSL_MODES.join(', ')}` },
    ),
    "PostgreSQL connection URL. `sslmode` (disable, require, verify-ca, verify-full) has libpq's meaning; without it the connection is plaintext unless DATABASE_SSL_CA is set.",
    { secret: true },
  ),
  DATABASE_SSL_CA: variable(
    absolutePath.optional(),
    "PEM file of the CA that signed PostgreSQL's server certificate. Set alone, it means `sslmode=verify-full` (TLS, certificate and host name checked).",
  ),
} as const;
