import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@calltx/source'] },
  ssr: { resolve: { conditions: ['@calltx/source'] } },
  test: {
    include: ['{packages,services,tools}/*/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites own real servers (NATS streams, S3, Postgres schemas); two at a time suits a 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
  },
});
