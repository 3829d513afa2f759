import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresForTests, type PostgresForTests } from '@calltx/devstack';
import { RECORDING_MIGRATIONS } from './db/migrations.js';

const MIGRATION_IDS = RECORDING_MIGRATIONS.map((m) => m.id);
const MIGRATE = fileURLToPath(new URL('./migrate.ts', import.meta.url));

function runMigrate(
  databaseUrl: string,
): Promise<{ code: number | null; logs: Array<Record<string, unknown>> }> {
  const child = spawn(process.execPath, ['--conditions=@calltx/source', '--import', 'tsx', MIGRATE], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (data: Buffer) => (out += data.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) =>
      resolve({
        code,
        logs: out
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      }),
    ),
  );
}

let database: PostgresForTests;
beforeAll(async () => {
  database = await postgresForTests();
});
afterAll(() => database?.stop());

describe('migrate entry point', () => {
  it('creates the tables once; a second run finds them applied', async () => {
    const first = await runMigrate(database.url);
    expect(first.code).toBe(0);
    expect(first.logs.find((l) => l.msg === 'migrations done')).toMatchObject({
      applied: MIGRATION_IDS,
      alreadyApplied: [],
    });
    const second = await runMigrate(database.url);
    expect(second.code).toBe(0);
    expect(second.logs.find((l) => l.msg === 'migrations done')).toMatchObject({
      applied: [],
      alreadyApplied: MIGRATION_IDS,
    });

    const client = new pg.Client(database.url);
    await client.connect();
    const { rows } = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [database.schema],
    );
    await client.end();
    expect(rows.map((r) => r.table_name)).toEqual([
      'fetcher_erased_calls',
      'recording_audio_redactions',
      'recording_fetcher_migrations',
      'recording_objects',
      'recording_reconcile',
      'recordings',
    ]);
  });
});
