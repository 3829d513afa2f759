import { ConfigError } from '@calltx/config';

/** Last stop for an error during start: config problems are printed plainly, anything else as one JSON line. */
export function startupFailure(service: string, error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${service}: ${error.message}\n`);
  } else {
    const err =
      error instanceof Error
        ? { name: error.name, message: error.message, stack: error.stack }
        : { message: String(error) };
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service, msg: 'failed to start', err })}\n`);
  }
  process.exit(1);
}
