import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from './child-server.js';
import { isReachable } from './reachable.js';
import { eventually } from './testing/assertions.js';
import { natsUrlForTests } from './testing/nats-for-tests.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

describe('devstack up', () => {
  it(
    'where no PostgreSQL answers, starts a real one (separate sessions, unlike PGlite) and stops it on SIGTERM',
    { timeout: 120_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'calltx-up-'));
      const envFile = join(dir, 'env.sh');
      const nobody = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
      const up = spawn(
        process.execPath,
        ['--conditions=@calltx/source', '--import', 'tsx', CLI, 'up', '--write-env', envFile],
        { env: { ...process.env, NATS_URL: natsUrlForTests(), DATABASE_URL: nobody }, stdio: 'ignore' },
      );
      const exited = new Promise<number | null>((resolve) => up.once('exit', resolve));
      try {
        const env = await eventually(() => readFile(envFile, 'utf8'), 90_000);
        const databaseUrl = /^export DATABASE_URL='([^']+)'$/m.exec(env)?.[1];
        expect(databaseUrl).toBeDefined();
        expect(databaseUrl).not.toBe(nobody);

        const clients = [new pg.Client(databaseUrl), new pg.Client(databaseUrl)];
        await Promise.all(clients.map((c) => c.connect()));
        try {
          const pids = await Promise.all(
            clients.map(
              async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid,
            ),
          );
          expect(pids[0]).not.toBe(pids[1]);
          const { rows } = await clients[0]!.query<{ version: string }>('SELECT version()');
          expect(rows[0]!.version).toMatch(/^PostgreSQL \d+/);
        } finally {
          await Promise.all(clients.map((c) => c.end()));
        }

        up.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(await isReachable(databaseUrl!)).toBe(false);
      } finally {
        up.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
