import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface NatsConnectOptions {
  url: string;
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
 * Connects with endless reconnects, so a service outlives NATS restarts and rolling upgrades. Status changes are
 * logged so operators can correlate gaps.
 */
export async function connectNats({
  url,
  name,
  logger,
  connectTimeoutMs = 10_000,
}: NatsConnectOptions): Promise<NatsLink> {
  const nc = await connect({
    servers: url.split(','),
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
