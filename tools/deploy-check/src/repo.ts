import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (this file is tools/deploy-check/{src,dist}/repo.{ts,js}). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const repoPath = (...segments: string[]): string => path.join(REPO_ROOT, ...segments);
