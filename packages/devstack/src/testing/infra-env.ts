import type { S3TestConfig } from './s3-for-tests.js';

/** The environment a service process needs to reach the test run's NATS (under its prefix), Postgres and S3. */
export function infraEnv(infra: {
  natsUrl: string;
  prefix: string;
  databaseUrl: string;
  s3: S3TestConfig;
}): Record<string, string> {
  return {
    NATS_URL: infra.natsUrl,
    NATS_SUBJECT_PREFIX: infra.prefix,
    DATABASE_URL: infra.databaseUrl,
    S3_ENDPOINT: infra.s3.endpoint,
    S3_REGION: infra.s3.region,
    S3_ACCESS_KEY: infra.s3.accessKey,
    S3_SECRET_KEY: infra.s3.secretKey,
    S3_BUCKET: infra.s3.bucket,
  };
}
