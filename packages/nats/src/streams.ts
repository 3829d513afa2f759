import {
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { UnnamedJetStreamApiCodes } from './api-codes.js';
import { whileJetStreamUnavailable } from './availability.js';
import { STREAM_POLICIES, type Family, type Subjects } from '@calltx/events';

export function streamConfig(
  subjects: Subjects,
  family: Family,
  replicas = 1,
): Partial<StreamConfig> & { name: string } {
  const policy = STREAM_POLICIES[family];
  return {
    name: subjects.streamName(family),
    description: policy.description,
    subjects: [subjects.all(family)],
    retention: policy.workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(policy.maxAgeMs),
    duplicate_window: nanos(policy.duplicateWindowMs),
    num_replicas: replicas,
  };
}

/**
 * Creates or updates the streams a service needs. Safe to run from every replica at every start: an existing
 * stream is updated to the declared config (JetStream rejects incompatible changes, which fails the start loudly).
 * While JetStream is unavailable (a leader election, a lost quorum) it waits and retries instead of failing.
 */
export async function provisionStreams(
  jsm: JetStreamManager,
  subjects: Subjects,
  families: readonly Family[],
  logger: Logger,
  replicas = 1,
): Promise<void> {
  for (const family of families) {
    const config = streamConfig(subjects, family, replicas);
    await whileJetStreamUnavailable(`stream ${config.name}`, () => createOrUpdate(jsm, config), { logger });
    logger.debug({ stream: config.name }, 'stream provisioned');
  }
}

async function createOrUpdate(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      // Another replica created it between our info and add.
      if (
        !(addError instanceof JetStreamApiError) ||
        addError.code !== UnnamedJetStreamApiCodes.StreamNameExist
      )
        throw addError;
    }
  }
}
