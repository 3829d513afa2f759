import { existsSync } from 'node:fs';
import { get } from 'node:http';

/** Unix socket of the Docker engine, or undefined when DOCKER_HOST points elsewhere (not probed). */
function dockerSocketPath(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
}

/** Cheap check that a Docker engine answers, so testcontainers is only tried where it can work. */
export async function isDockerReachable(timeoutMs = 1_000): Promise<boolean> {
  const socketPath = dockerSocketPath();
  if (!socketPath || !existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const request = get({ socketPath, path: '/_ping', timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}

/**
 * A throwaway Postgres 15 in Docker; Ryuk (testcontainers' reaper) removes it when this process exits.
 * Loaded lazily: testcontainers is heavy and most runs never need it.
 */
export async function startPostgresContainer(): Promise<string> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:15-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/test`;
}
