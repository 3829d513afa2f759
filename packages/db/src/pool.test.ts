import { createServer, type AddressInfo } from 'node:net';
import { postgresForTests, type PostgresForTests } from '@calltx/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, databaseAnswers } from './pool.js';

describe('databaseAnswers (the `postgres` readiness check)', () => {
  let db: PostgresForTests;

  beforeAll(async () => {
    db = await postgresForTests();
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('is true while the database answers, and fails when nothing speaks PostgreSQL on the port', async () => {
    const pool = createPool(db.url, { max: 1 });
    try {
      expect(await databaseAnswers(pool)).toBe(true);
    } finally {
      await pool.end();
    }
    // A port that accepts and closes at once: the check rejects, which /readyz reports as failing.
    const closer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
    const { port } = closer.address() as AddressInfo;
    const dead = createPool(`postgres://nobody@127.0.0.1:${port}/none`, { max: 1 });
    try {
      await expect(databaseAnswers(dead)).rejects.toThrow();
    } finally {
      await dead.end();
      closer.close();
    }
  });
});
