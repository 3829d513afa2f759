import type { VariableTable } from '@calltx/config';
import { API_VARIABLES } from '@calltx/api';
import { GATEWAY_VARIABLES } from '@calltx/gateway';
import { FETCHER_VARIABLES } from '@calltx/recording-fetcher';
import { INGEST_VARIABLES } from '@calltx/stream-ingest';
import { TRANSCRIBER_VARIABLES } from '@calltx/transcriber';

/**
 * What each service reads, by the name of its folder under services/ (also its image target, Deployment and
 * compose service): the table its config module composes from its packages' variables and its own. The
 * configuration doc and the deployment checks are made from this list; a new service is one line here.
 */
export const SERVICE_VARIABLES: Readonly<Record<string, VariableTable>> = {
  gateway: GATEWAY_VARIABLES,
  api: API_VARIABLES,
  'stream-ingest': INGEST_VARIABLES,
  transcriber: TRANSCRIBER_VARIABLES,
  'recording-fetcher': FETCHER_VARIABLES,
};
