import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresAccount } from '../child-server.js';
import { isReachable } from '../reachable.js';
import { startLocalPostgres } from './local-postgres.js';

describe('startLocalPostgres', () => {
  it(
    'runs a PostgreSQL cluster of its own on a spare port, as the postgres account when root, and removes it on stop',
    { timeout: 120_000 },
    async () => {
      const server = await startLocalPostgres();
      let dataDir = '';
      try {
        const client = new pg.Client(server.url);
        await client.connect();
        try {
          const { rows } = await client.query<{ version: string; db: string; dir: string; pid: number }>(
            `SELECT version(), current_database() AS db, current_setting('data_directory') AS dir,
                    pg_backend_pid() AS pid`,
          );
          const row = rows[0]!;
          expect(row.version).toMatch(/^PostgreSQL \d+/);
          expect(row.db).toBe('test');
          dataDir = row.dir;
          expect(dataDir.startsWith('/var/lib/postgresql')).toBe(false);
          expect(new URL(server.url).port).not.toBe('5432');
          const uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${row.pid}/status`, 'utf8'))?.[1];
          expect(Number(uid)).toBe((await postgresAccount())?.uid ?? process.getuid!());
        } finally {
          await client.end();
        }
      } finally {
        await server.stop();
      }
      expect(await isReachable(server.url)).toBe(false);
      expect(existsSync(dataDir)).toBe(false);
    },
  );
});
