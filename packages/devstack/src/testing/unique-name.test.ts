import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { natsUrlForTests } from './nats-for-tests.js';
import { uniqueName } from './unique-name.js';

describe('uniqueName', () => {
  it('gives distinct names made of [a-z0-9] that start with a letter and fit in 63 chars', () => {
    const names = ['Ingest Calls', '42', '', 'a'.repeat(100), 'x.y*z>'].flatMap((prefix) => [
      uniqueName(prefix),
      uniqueName(prefix),
    ]);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9]{2,62}$/);
    expect(uniqueName('Ingest Calls')).toMatch(/^ingestcalls/);
  });

  it('is accepted as a JetStream stream name', async () => {
    const nc = await connect({ servers: natsUrlForTests() });
    try {
      const name = uniqueName('stream');
      const config = { name, subjects: [`${name}.>`], storage: 'memory', max_msgs: 10 };
      const created = (await nc.request(`$JS.API.STREAM.CREATE.${name}`, JSON.stringify(config))).json<{
        error?: unknown;
        config?: { name: string };
      }>();
      expect(created.error).toBeUndefined();
      expect(created.config?.name).toBe(name);
      const deleted = (await nc.request(`$JS.API.STREAM.DELETE.${name}`)).json<{ success?: boolean }>();
      expect(deleted.success).toBe(true);
    } finally {
      await nc.close();
    }
  });
});
