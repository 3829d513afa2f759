import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  natsUrlForTests,
  postgresForTests,
  s3ForTests,
  uniqueName,
  type PostgresForTests,
  type S3ForTests,
  infraEnv,
} from '@calltx/devstack';
import {
  Subjects,
  claimsBucketName,
  createLogger,
  createObjectStore,
  createPool,
  provisionStreams,
  runMigrations,
  type Family,
  type ObjectStore,
  type Pool,
} from '@calltx/shared';
import { CallsRepo } from '../db/calls-repo.js';
import { MIGRATIONS, MIGRATIONS_TABLE } from '../db/migrations.js';

import { eventually } from '@calltx/devstack';

export { eventually };

export const FAMILIES: Family[] = ['calls', 'media', 'audio'];
export const SERVICE = 'stream-ingest';

/** Real NATS (a unique subject prefix), a fresh S3 bucket and a fresh Postgres schema with the ingest's tables. */
export interface TestEnvironment {
  natsUrl: string;
  subjects: Subjects;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  s3: S3ForTests;
  store: ObjectStore;
  db: PostgresForTests;
  pool: Pool;
  repo: CallsRepo;
  claimsBucket: string;
  /** Environment variables for a stream-ingest process on this environment. */
  processEnv(overrides?: Record<string, string>): Record<string, string>;
  /** The last message on a subject of the CALLS stream, or null. */
  lastCallEvent(subject: string): Promise<StoredMsg | null>;
  close(): Promise<void>;
}

export async function createTestEnvironment(): Promise<TestEnvironment> {
  const natsUrl = natsUrlForTests();
  const subjects = new Subjects(uniqueName('t'));
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, subjects, FAMILIES, createLogger({ service: 'test', level: 'silent' }));
  const [s3, db] = await Promise.all([s3ForTests(), postgresForTests()]);
  const store = createObjectStore(s3.config);
  const pool = createPool(db.url, { max: 4 });
  await runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: MIGRATIONS });
  const claimsBucket = claimsBucketName(subjects, SERVICE);

  return {
    natsUrl,
    subjects,
    nc,
    js: jetstream(nc),
    jsm,
    s3,
    store,
    db,
    pool,
    repo: new CallsRepo(pool),
    claimsBucket,
    processEnv: (overrides = {}) => ({
      ...infraEnv({ natsUrl, prefix: subjects.prefix, databaseUrl: db.url, s3: s3.config }),
      ...overrides,
    }),
    async lastCallEvent(subject) {
      try {
        return await jsm.streams.getMessage(subjects.streamName('calls'), { last_by_subj: subject });
      } catch {
        return null;
      }
    },
    async close() {
      await pool.end();
      for (const family of FAMILIES)
        await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
      await jsm.streams.delete(`KV_${claimsBucket}`).catch(() => undefined);
      await nc.close();
      await Promise.all([s3.stop(), db.stop()]);
    },
  };
}

export async function readObject(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.getObject(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
