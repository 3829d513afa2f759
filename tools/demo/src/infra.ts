import { join } from 'node:path';
import { isReachable, startEmbeddedNats, startEmbeddedPostgres, startEmbeddedS3 } from '@calltx/devstack';

export interface Infra {
  env: Record<string, string>;
  /** What was found and what was started, for the narrator. */
  notes: string[];
  stop(): Promise<void>;
}

const S3_ACCESS_KEY = 'demo-access-key';
const S3_SECRET_KEY = 'demo-secret-key-0123456789';
const S3_BUCKET = 'calltx-demo';

/**
 * NATS, PostgreSQL and S3 for the demo: the ones named by NATS_URL / DATABASE_URL / S3_ENDPOINT when set (and for
 * NATS, a server on the local default port), embedded ones otherwise, with their state under `dataDir`.
 */
export async function bringUpInfra(dataDir: string): Promise<Infra> {
  const stops: Array<() => Promise<void>> = [];
  const notes: string[] = [];
  const env: Record<string, string> = {};

  const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
  if (await isReachable(natsUrl.split(',')[0]!)) {
    env.NATS_URL = natsUrl;
    notes.push(`NATS: using ${natsUrl}`);
  } else {
    const nats = await startEmbeddedNats({ dataDir: join(dataDir, 'nats') });
    stops.push(() => nats.stop());
    env.NATS_URL = nats.url;
    notes.push(`NATS: started nats-server -js at ${nats.url}`);
  }

  if (process.env.DATABASE_URL) {
    env.DATABASE_URL = process.env.DATABASE_URL;
    notes.push('PostgreSQL: using DATABASE_URL');
  } else {
    const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
    stops.push(() => postgres.stop());
    env.DATABASE_URL = postgres.url;
    notes.push(`PostgreSQL: started embedded PGlite at ${postgres.url}`);
  }

  if (process.env.S3_ENDPOINT) {
    for (const name of ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET']) {
      const value = process.env[name];
      if (value) env[name] = value;
    }
    notes.push(`S3: using ${process.env.S3_ENDPOINT}`);
  } else {
    const s3 = await startEmbeddedS3({
      dir: join(dataDir, 's3'),
      accessKey: S3_ACCESS_KEY,
      secretKey: S3_SECRET_KEY,
      bucket: S3_BUCKET,
    });
    stops.push(() => s3.stop());
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY,
      S3_SECRET_KEY,
      S3_BUCKET,
    });
    notes.push(`S3: started embedded s3rver at ${s3.endpoint}`);
  }

  return {
    env,
    notes,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
