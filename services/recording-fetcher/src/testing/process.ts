import { fileURLToPath } from 'node:url';
import { spawnService, type ServiceProcess } from '@calltx/devstack';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** The real recording-fetcher entry point as a child process, configured by env only. */
export const spawnFetcher = (env: Record<string, string>): Promise<ServiceProcess> =>
  spawnService(MAIN, 'recording-fetcher', env);
