import { describe, expect, it } from 'vitest';
import { ConfigError } from '@calltx/config';
import { loadIngestConfig } from './config.js';

const required = {
  DATABASE_URL: 'postgres://ingest@db/calls',
  S3_ENDPOINT: 'http://minio:9000',
  S3_ACCESS_KEY: 'ingest',
  S3_SECRET_KEY: 'ingest-secret',
  S3_BUCKET: 'call-audio',
};

describe('loadIngestConfig', () => {
  it('applies the defaults of the shared and the ingest variables', () => {
    expect(loadIngestConfig(required)).toMatchObject({
      ...required,
      NATS_SUBJECT_PREFIX: '',
      STREAM_IDLE_FINALIZE_MS: 60_000,
      INGEST_CLAIM_TTL_MS: 6_000,
      INGEST_PART_FLUSH_MS: 5_000,
      INGEST_SWEEP_INTERVAL_MS: 1_000,
    });
  });

  it('reports every problem at once, naming the variables and never the secrets', () => {
    let error: unknown;
    try {
      loadIngestConfig({
        ...required,
        S3_SECRET_KEY: '',
        INGEST_CLAIM_TTL_MS: '500',
        STREAM_IDLE_FINALIZE_MS: 'soon',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(' ')[0])).toEqual([
      'S3_SECRET_KEY',
      'STREAM_IDLE_FINALIZE_MS',
      'INGEST_CLAIM_TTL_MS',
    ]);
    expect(() =>
      loadIngestConfig({ ...required, INGEST_PART_FLUSH_MS: '20000', STREAM_IDLE_FINALIZE_MS: '60000' }),
    ).toThrow(/STREAM_IDLE_FINALIZE_MS must be at least 4 × INGEST_PART_FLUSH_MS/);
  });
});
