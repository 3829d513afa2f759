import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeployCheckError } from '../errors.js';
import { REPO_ROOT } from '../repo.js';

const run = promisify(execFile);

export interface DeployedPackage {
  packageDir: string;
  outDir: string;
}

/**
 * What the Dockerfile's build stage does for one package, on this machine: compile it (tsc -b follows project
 * references) and `pnpm deploy --prod` it into outDir, from the local store where it can: deploy resolves again and
 * needs package metadata that a `--frozen-lockfile` install never cached.
 */
export async function deployPackage(packageDir: string, outDir: string): Promise<DeployedPackage> {
  if (!existsSync(path.join(REPO_ROOT, packageDir, 'package.json'))) {
    throw new DeployCheckError(`${packageDir} is not a workspace package`);
  }
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', CI: 'true' };
  try {
    await run('pnpm', ['exec', 'tsc', '-b', packageDir], {
      cwd: REPO_ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    await run('pnpm', ['--filter', `./${packageDir}`, 'deploy', '--prod', '--prefer-offline', outDir], {
      cwd: REPO_ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string };
    throw new DeployCheckError(
      `building and deploying ${packageDir} failed`,
      [`${output.stdout ?? ''}${output.stderr ?? ''}`.trim()],
      {
        cause: error,
      },
    );
  }
  return { packageDir, outDir };
}

/** Runs `node <entry> ...args` in cwd with exactly `env` (plus PATH); resolves with its exit code and output. */
export async function runEntry(
  cwd: string,
  entry: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [entry, ...args], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      timeout: 20_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`,
    };
  }
}
