import { variable, type VariableTable } from '@calltx/config';
import { SERVICE_VARIABLES } from '@calltx/config-doc';
import { MIGRATE_VARIABLES } from '@calltx/db';
import { z } from 'zod';

export const serviceEntry = (service: string): string => `services/${service}/dist/main.js`;

/** What each entry the deployment runs reads, from the services' own config modules. */
export const ENTRY_VARIABLES: Record<string, VariableTable> = {
  ...Object.fromEntries(
    Object.entries(SERVICE_VARIABLES).map(([service, table]) => [serviceEntry(service), table]),
  ),
  // The model download takes its model and directory as arguments; HF_ENDPOINT (read by its CLI) points it at a
  // Hugging Face mirror.
  'tools/model-fetch/dist/cli.js': {
    HF_ENDPOINT: variable(z.url().optional(), 'Hugging Face endpoint or mirror.'),
  },
  'services/stream-ingest/dist/migrate.js': MIGRATE_VARIABLES,
  'services/recording-fetcher/dist/migrate.js': MIGRATE_VARIABLES,
  'services/api/dist/migrate.js': MIGRATE_VARIABLES,
};

/** The five services, by the name used for their folder, image target, Deployment and compose service. */
export const SERVICES = ['gateway', 'stream-ingest', 'transcriber', 'recording-fetcher', 'api'] as const;
