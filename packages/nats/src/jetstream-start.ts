import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Family, Subjects } from '@calltx/events';
import type { Logger } from 'pino';
import { whileJetStreamUnavailable } from './availability.js';
import { connectNats, type NatsConnectOptions, type NatsLink } from './connection.js';
import { provisionStreams } from './streams.js';

export interface JetStreamStartOptions extends NatsConnectOptions {
  subjects: Subjects;
  /** The streams this service publishes to or consumes from. */
  families: readonly Family[];
  /** NATS_STREAM_REPLICAS. */
  replicas: number;
  logger: Logger;
}

export interface JetStreamLink {
  nats: NatsLink;
  jsm: JetStreamManager;
  js: JetStreamClient;
}

/**
 * Every service's JetStream start: connect (reconnecting forever), wait for the JetStream API while a cluster cannot
 * answer yet, then create or update the service's streams.
 */
export async function startJetStream(options: JetStreamStartOptions): Promise<JetStreamLink> {
  const { subjects, families, replicas, logger } = options;
  const nats = await connectNats(options);
  const jsm = await whileJetStreamUnavailable('JetStream API', () => jetstreamManager(nats.nc), { logger });
  await provisionStreams(jsm, subjects, families, logger, replicas);
  return { nats, jsm, js: jetstream(nats.nc) };
}
