import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { EmbeddedServerError } from '../errors.js';
import { findNatsServerBinary, startEmbeddedNats } from './embedded-nats.js';

describe('startEmbeddedNats', () => {
  it('serves NATS with JetStream until stopped', async () => {
    const nats = await startEmbeddedNats();
    const port = Number(new URL(nats.url).port);
    try {
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      const nc = await connect({ servers: nats.url });
      const sub = nc.subscribe('hello', { max: 1 });
      nc.publish('hello', 'world');
      for await (const msg of sub) expect(msg.string()).toBe('world');
      const info = (await nc.request('$JS.API.INFO')).json<{ error?: unknown; streams?: number }>();
      expect(info.error).toBeUndefined();
      expect(info.streams).toBe(0);
      await nc.close();
    } finally {
      await nats.stop();
    }
    await expect(connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false })).rejects.toThrow();
  });

  it('keeps JetStream data in the given directory and leaves it there', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nats-test-'));
    try {
      const nats = await startEmbeddedNats({ dataDir });
      await nats.stop();
      expect(await readdir(dataDir)).toContain('jetstream');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('takes nats-server down with its owner process even when that is SIGKILLed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nats-owner-'));
    const module = fileURLToPath(new URL('./embedded-nats.ts', import.meta.url));
    const script = `const { startEmbeddedNats } = await import(${JSON.stringify(module)});
      console.log((await startEmbeddedNats({ dataDir: ${JSON.stringify(dataDir)} })).url);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [url] = (await once(createInterface({ input: owner.stdout! }), 'line')) as [string];
      const nc = await connect({ servers: url, reconnect: false });
      const closed = nc.closed();
      owner.kill('SIGKILL');
      await closed; // the server went away
      await expect(connect({ servers: url, reconnect: false })).rejects.toThrow();
    } finally {
      owner.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('fails clearly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startEmbeddedNats({ port })).rejects.toThrow(
        /exited during start-up[\s\S]*address already in use/,
      );
    } finally {
      blocker.close();
    }
  });

  it('fails clearly when the binary cannot be run', async () => {
    await expect(startEmbeddedNats({ binary: '/nonexistent/nats-server' })).rejects.toBeInstanceOf(
      EmbeddedServerError,
    );
  });
});

describe('findNatsServerBinary', () => {
  it('finds the installed binary', () => {
    expect(existsSync(findNatsServerBinary())).toBe(true);
  });

  it('tells how to install nats-server when there is none', () => {
    expect(() => findNatsServerBinary('/nonexistent', [])).toThrow(/apt-get install -y nats-server/);
  });
});
