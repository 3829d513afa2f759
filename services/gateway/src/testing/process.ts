import { fileURLToPath } from 'node:url';
import { spawnService, type ServiceProcess } from '@calltx/devstack';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** The real gateway entry point as a child process, configured by env only. */
export const spawnGateway = (env: Record<string, string>): Promise<ServiceProcess> =>
  spawnService(MAIN, 'gateway', env);
