import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isDockerReachable } from './docker.js';

describe('isDockerReachable', () => {
  const saved = process.env.DOCKER_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  it('is false when no socket exists', async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
    expect(await isDockerReachable()).toBe(false);
  });

  it('is true when the socket answers /_ping', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'docker-ping-'));
    const socketPath = join(dir, 'docker.sock');
    const engine = createServer((req, res) => res.writeHead(req.url === '/_ping' ? 200 : 404).end('OK'));
    await new Promise<void>((resolve) => engine.listen(socketPath, resolve));
    try {
      process.env.DOCKER_HOST = `unix://${socketPath}`;
      expect(await isDockerReachable()).toBe(true);
    } finally {
      engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
