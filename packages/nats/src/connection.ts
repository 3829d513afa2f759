import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ConfigError } from '@calltx/config';

/** PEM files for a TLS connection; none given: TLS still required, checked against the system's CAs. */
export interface NatsTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Where and how to connect: NATS_URL and the NATS_TLS_* files. */
export interface NatsConnectionConfig {
  url: string;
  /** Set: the connection must be TLS (a server without TLS is refused). */
  tls?: NatsTlsFiles;
}

export interface NatsConnectOptions extends NatsConnectionConfig {
  name: string;
  logger: Logger;
  /** How long to wait for the first connection; after that the client reconnects forever. */
  connectTimeoutMs?: number;
}

export interface NatsLink {
  readonly nc: NatsConnection;
  /** False from a disconnect until the next reconnect: readiness reports it. */
  isConnected(): boolean;
}

/**
 * A service's connection from its NATS_* variables (docs/configuration.md). TLS is required when a URL says
 * `tls://` or a NATS_TLS_* file is given: nats.js itself reads the scheme as a mere hint.
 */
export function natsConnectionConfig(config: {
  NATS_URL: string;
  NATS_TLS_CA?: string | undefined;
  NATS_TLS_CERT?: string | undefined;
  NATS_TLS_KEY?: string | undefined;
}): NatsConnectionConfig {
  const { NATS_URL: url, NATS_TLS_CA: caFile, NATS_TLS_CERT: certFile, NATS_TLS_KEY: keyFile } = config;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(['NATS_TLS_CERT and NATS_TLS_KEY go together: set both or neither']);
  }
  const tlsUrl = url.split(',').some((server) => server.startsWith('tls://'));
  if (!tlsUrl && caFile === undefined && certFile === undefined) return { url };
  return {
    url,
    tls: {
      ...(caFile === undefined ? {} : { caFile }),
      ...(certFile === undefined ? {} : { certFile, keyFile }),
    },
  };
}

/**
 * Connects with endless reconnects, so a service outlives NATS restarts and rolling upgrades. Status changes are
 * logged so operators can correlate gaps.
 */
export async function connectNats({
  url,
  tls,
  name,
  logger,
  connectTimeoutMs = 10_000,
}: NatsConnectOptions): Promise<NatsLink> {
  const nc = await connect({
    servers: url.split(','),
    ...(tls === undefined ? {} : { tls }),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    timeout: connectTimeoutMs,
    pingInterval: 10_000,
  });
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          connected = false;
          logger.warn({ server: status.server }, 'nats disconnected');
          break;
        case 'reconnect':
          connected = true;
          logger.info({ server: status.server }, 'nats reconnected');
          break;
        case 'error':
          logger.error({ err: status.error }, 'nats error');
          break;
        case 'slowConsumer':
          logger.warn({ subject: status.sub.getSubject() }, 'nats slow consumer');
          break;
        default:
          break;
      }
    }
  })();
  void nc.closed().then(() => {
    connected = false;
  });
  return { nc, isConnected: () => connected && !nc.isClosed() };
}
