import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, postgresForTests, type PostgresForTests } from '@calltx/devstack';
import { createPool, runMigrations, type Pool } from '@calltx/db';
import { RecordingLeaseLostError } from '../errors.js';
import { sid } from '../testing/harness.js';
import { MIGRATIONS_TABLE, RECORDING_MIGRATIONS } from './migrations.js';
import { RecordingLease } from './recording-lease.js';
import { RecordingsRepository } from './recordings-repository.js';

const ARCHIVED = {
  sampleRate: 8000,
  durationMs: 1000,
  objects: [
    { role: 'dual', channel: null, key: 'k', bytes: 16_000, sha256: 'a'.repeat(64), durationMs: 1000 },
  ],
};

let db: PostgresForTests;
let pool: Pool;
let repository: RecordingsRepository;
beforeAll(async () => {
  db = await postgresForTests();
  pool = createPool(db.url);
  await runMigrations(pool, { table: MIGRATIONS_TABLE, migrations: RECORDING_MIGRATIONS });
  repository = new RecordingsRepository(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

async function completedRecording(): Promise<string> {
  const recordingSid = sid('RE');
  await repository.noteCompleted({ recordingSid, callSid: sid('CA'), durationSeconds: 1, channels: 2 });
  return recordingSid;
}

describe('the lease in the recordings row', () => {
  it('goes to exactly one of many concurrent claimers', async () => {
    const recordingSid = await completedRecording();
    const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}`);
    const won = await Promise.all(owners.map((owner) => repository.claimLease(recordingSid, owner, 60_000)));
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('passes to another delivery once expired, and then refuses every write of the old holder', async () => {
    const recordingSid = await completedRecording();
    expect(await repository.claimLease(recordingSid, 'old', 300)).toBe(true);
    expect(await repository.claimLease(recordingSid, 'new', 60_000)).toBe(false);
    await eventually(async () => expect(await repository.claimLease(recordingSid, 'new', 60_000)).toBe(true));

    const refused = await Promise.allSettled([
      repository.countAttempt(recordingSid, 'old'),
      repository.markStored(recordingSid, 'old', ARCHIVED),
      repository.markFailed(recordingSid, 'old', 'timeout', 'late'),
      repository.markEventsPublished(recordingSid, 'old'),
      repository.markDeletedAtTwilio(recordingSid, 'old'),
    ]);
    for (const write of refused) {
      expect(write.status === 'rejected' && write.reason instanceof RecordingLeaseLostError).toBe(true);
    }
    expect(await repository.renewLease(recordingSid, 'old', 60_000)).toBe(false);
    expect(await repository.get(recordingSid)).toMatchObject({
      status: 'completed',
      attempts: 0,
      objects: [],
      eventsPublishedAt: null,
      twilioDeletedAt: null,
    });

    await repository.markStored(recordingSid, 'new', ARCHIVED);
    expect(await repository.get(recordingSid)).toMatchObject({ status: 'stored', objects: [{ key: 'k' }] });
  });

  it('is free for the next delivery as soon as its holder releases it', async () => {
    const recordingSid = await completedRecording();
    const lease = await RecordingLease.claim(repository, recordingSid, 60_000);
    expect(lease).not.toBeNull();
    expect(await RecordingLease.claim(repository, recordingSid, 60_000)).toBeNull();
    await lease!.release();
    const next = await RecordingLease.claim(repository, recordingSid, 60_000);
    expect(next?.owner).not.toBe(lease!.owner);
    await next!.release();
  });

  it('aborts its signal when another delivery has taken the recording over', async () => {
    const recordingSid = await completedRecording();
    const lease = await RecordingLease.claim(repository, recordingSid, 1_500);
    await pool.query("UPDATE recordings SET lease_owner = 'usurper' WHERE recording_sid = $1", [
      recordingSid,
    ]);
    await eventually(() => expect(lease!.signal.aborted).toBe(true), 5_000);
    expect(lease!.signal.reason).toBeInstanceOf(RecordingLeaseLostError);
    await lease!.release();
    expect(
      (await pool.query('SELECT lease_owner FROM recordings WHERE recording_sid = $1', [recordingSid])).rows,
    ).toEqual([{ lease_owner: 'usurper' }]);
  });
});
