import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  infraEnv,
  natsUrlForTests,
  postgresForTests,
  s3ForTests,
  uniqueName,
  type PostgresForTests,
  type S3ForTests,
} from '@calltx/devstack';
import { Subjects, type Family } from '@calltx/events';
import { createLogger } from '@calltx/runtime';
import { createObjectStore, type ObjectStore } from '@calltx/storage';
import { createPool, runMigrations, type MigrationOptions, type Pool } from '@calltx/db';
import { provisionStreams } from '@calltx/nats';

export interface ServiceStackOptions {
  /** The stream families the service reads and writes, provisioned under the stack's prefix. */
  families: readonly Family[];
  /** The service's own tables, migrated into the stack's fresh schema. */
  migrations: MigrationOptions;
  /** Connections of the test's own pool (default: createPool's). */
  poolMax?: number;
}

/**
 * What a service talks to, real and isolated per test file: JetStream streams under a unique subject prefix, a
 * fresh Postgres schema with the service's tables, and an empty bucket.
 */
export interface ServiceStack {
  natsUrl: string;
  subjects: Subjects;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  pg: PostgresForTests;
  pool: Pool;
  s3: S3ForTests;
  store: ObjectStore;
  /** The infrastructure variables a service process needs to run against this stack. */
  env: Record<string, string>;
  /** Deletes the streams, closes the connections, drops the schema and the bucket. */
  close(): Promise<void>;
}

export async function startServiceStack(options: ServiceStackOptions): Promise<ServiceStack> {
  const natsUrl = natsUrlForTests();
  const subjects = new Subjects(uniqueName('t'));
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await provisionStreams(
    jsm,
    subjects,
    [...options.families],
    createLogger({ service: 'test', level: 'silent' }),
  );
  const [s3, pg] = await Promise.all([s3ForTests(), postgresForTests()]);
  const pool = createPool(pg.url, options.poolMax === undefined ? {} : { max: options.poolMax });
  await runMigrations(pool, options.migrations);
  return {
    natsUrl,
    subjects,
    nc,
    js: jetstream(nc),
    jsm,
    pg,
    pool,
    s3,
    store: createObjectStore(s3.config),
    env: infraEnv({ natsUrl, prefix: subjects.prefix, databaseUrl: pg.url, s3: s3.config }),
    async close() {
      await pool.end();
      for (const family of options.families)
        await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
      await nc.close();
      await Promise.all([s3.stop(), pg.stop()]);
    },
  };
}
