import { API_LOCAL_VARIABLES, API_VARIABLES } from '@calltx/api';
import { GATEWAY_VARIABLES } from '@calltx/gateway';
import { FETCHER_VARIABLES } from '@calltx/recording-fetcher';
import { INGEST_VARIABLES } from '@calltx/stream-ingest';
import type { VariableSpec } from '@calltx/shared';
import { z } from 'zod';
import type { EntryVariables } from '../env/check.js';

/**
 * The migration entries (services/<name>/dist/migrate.js) read only the database and logging settings. They
 * export no list of their own yet: this one is deploy-check's, and the docs say so.
 */
export const MIGRATE_VARIABLES = ['DATABASE_URL', 'LOG_LEVEL', 'LOG_FORMAT'] as const;

/**
 * The transcriber is written in parallel with this package: its list is taken when the package exports it under
 * the gateway's naming (TRANSCRIBER_VARIABLES, optionally TRANSCRIBER_LOCAL_VARIABLES). Until then the checks of
 * the transcriber's environment fail, naming the missing contract. (A computed specifier keeps the type checker
 * from requiring the package before it exists.)
 */
const transcriberPackage = '@calltx/transcriber';
const transcriber = (await import(transcriberPackage).catch(() => ({}))) as {
  TRANSCRIBER_VARIABLES?: readonly string[];
  TRANSCRIBER_LOCAL_VARIABLES?: Record<string, VariableSpec>;
};

/** What each entry the deployment runs reads, from the services' own config modules. */
export const ENTRY_VARIABLES: Record<string, EntryVariables> = {
  ...(transcriber.TRANSCRIBER_VARIABLES
    ? {
        'services/transcriber/dist/main.js': {
          shared: transcriber.TRANSCRIBER_VARIABLES,
          ...(transcriber.TRANSCRIBER_LOCAL_VARIABLES
            ? { local: transcriber.TRANSCRIBER_LOCAL_VARIABLES }
            : {}),
        },
      }
    : {}),
  'services/gateway/dist/main.js': { shared: GATEWAY_VARIABLES },
  'services/api/dist/main.js': { shared: API_VARIABLES, local: API_LOCAL_VARIABLES },
  'services/stream-ingest/dist/main.js': { shared: INGEST_VARIABLES },
  'services/recording-fetcher/dist/main.js': { shared: FETCHER_VARIABLES },
  // The model download takes its model and directory as arguments; HF_ENDPOINT (read by its CLI) points it at a
  // Hugging Face mirror.
  'tools/model-fetch/dist/cli.js': {
    shared: [],
    local: { HF_ENDPOINT: { schema: z.url().optional(), description: 'Hugging Face endpoint or mirror.' } },
  },
  'services/stream-ingest/dist/migrate.js': { shared: MIGRATE_VARIABLES },
  'services/recording-fetcher/dist/migrate.js': { shared: MIGRATE_VARIABLES },
  'services/api/dist/migrate.js': { shared: MIGRATE_VARIABLES },
};

/** The five services, by the name used for their folder, image target, Deployment and compose service. */
export const SERVICES = ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher', 'api'] as const;
export const serviceEntry = (service: string): string => `services/${service}/dist/main.js`;
