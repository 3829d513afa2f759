import type { StoredMsg } from '@nats-io/jetstream';
import { claimsBucketName } from '../claims/index.js';
import { type Family } from '@calltx/events';
import { startServiceStack, type ServiceStack } from '@calltx/testkit';
import { CallsRepo } from '../db/calls-repo.js';
import { MIGRATIONS, MIGRATIONS_TABLE } from '../db/migrations.js';

import { eventually } from '@calltx/devstack';

export { eventually };

export const FAMILIES: Family[] = [
  'calls',
  'media',
  'audio',
  'parties',
  'transcripts',
  'deadletter',
  'erasure',
];
export const SERVICE = 'stream-ingest';

/** Real NATS (a unique subject prefix), a fresh S3 bucket and a fresh Postgres schema with the ingest's tables. */
export interface TestEnvironment extends ServiceStack {
  repo: CallsRepo;
  claimsBucket: string;
  /** Environment variables for a stream-ingest process on this environment. */
  processEnv(overrides?: Record<string, string>): Record<string, string>;
  /** The last message on a subject of the CALLS stream, or null. */
  lastCallEvent(subject: string): Promise<StoredMsg | null>;
}

export async function createTestEnvironment(): Promise<TestEnvironment> {
  const stack = await startServiceStack({
    families: FAMILIES,
    migrations: { table: MIGRATIONS_TABLE, migrations: MIGRATIONS },
    poolMax: 4,
  });
  const { subjects, jsm } = stack;
  const claimsBucket = claimsBucketName(subjects, SERVICE);

  return {
    ...stack,
    repo: new CallsRepo(stack.pool),
    claimsBucket,
    processEnv: (overrides = {}) => ({ ...stack.env, ...overrides }),
    async lastCallEvent(subject) {
      try {
        return await jsm.streams.getMessage(subjects.streamName('calls'), { last_by_subj: subject });
      } catch {
        return null;
      }
    },
    async close() {
      await jsm.streams.delete(`KV_${claimsBucket}`).catch(() => undefined);
      await stack.close();
    },
  };
}
