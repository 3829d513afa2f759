import { z } from 'zod';
import { absolutePath, variable } from '@calltx/config';

/** What connecting to NATS and provisioning streams read. */
export const NATS_VARIABLES = {
  NATS_URL: variable(
    z
      .string()
      .regex(
        /^(nats|tls|wss?):\/\/[^\s,]+(,(nats|tls|wss?):\/\/[^\s,]+)*$/,
        'must be nats:// URL(s), comma-separated',
      )
      .default('nats://127.0.0.1:4222'),
    'NATS server URL(s), comma-separated for a cluster. `tls://` requires TLS (so does setting NATS_TLS_CA).',
  ),
  NATS_TLS_CA: variable(
    absolutePath.optional(),
    "PEM file of the CA that signed the NATS servers' certificates. Set, the connection must be TLS and the server certificate is checked against it (and the host name).",
  ),
  NATS_TLS_CERT: variable(
    absolutePath.optional(),
    "PEM file of this client's certificate, for NATS servers that verify clients (mutual TLS); with NATS_TLS_KEY.",
  ),
  NATS_TLS_KEY: variable(
    absolutePath.optional(),
    'PEM file of the private key of NATS_TLS_CERT (the file is the secret; mount it from a Secret).',
  ),
  NATS_SUBJECT_PREFIX: variable(
    z
      .string()
      .regex(/^([A-Za-z0-9_-]+)?$/, 'must be empty or one subject token (letters, digits, _ and -)')
      .default(''),
    'Optional namespace put before every subject and stream name (isolates tenants or test runs). Empty in production.',
    { keepEmpty: true },
  ),
  NATS_STREAM_REPLICAS: variable(
    z.coerce.number().int().min(1).max(5).default(1),
    'JetStream replicas for every stream and key-value bucket the services create (3 on a 3-node production cluster); above 1, per-call media consumers keep their state in memory.',
  ),
} as const;

/** The variables natsConnectionConfig reads, for an entry that picks only some of NATS_VARIABLES. */
export const NATS_CONNECTION_VARIABLE_NAMES = [
  'NATS_URL',
  'NATS_TLS_CA',
  'NATS_TLS_CERT',
  'NATS_TLS_KEY',
] as const;

/** Read by a service whose consumers move a message that keeps failing to the DEADLETTER stream. */
export const DEAD_LETTER_VARIABLES = {
  DEADLETTER_MAX_DELIVER: variable(
    z.coerce.number().int().min(2).default(50),
    'Deliveries of a lifecycle event (stream-ingest) or live final segment (transcriber) before one that keeps failing is moved to the DEADLETTER stream (about 20 min of backoff at 50). Invalid or permanently failing messages go there at once.',
  ),
} as const;
