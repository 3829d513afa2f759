import { randomBytes } from 'node:crypto';

/** Differs between processes (vitest workers, CI runs sharing one MinIO/Postgres). */
const RUN_ID = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0');
let counter = 0;

/**
 * A name unique to this run and call, made only of [a-z0-9] and starting with a letter, so the same value
 * is a valid NATS stream/consumer name, S3 bucket name (3–63 chars) and unquoted Postgres identifier.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 40);
  counter += 1;
  return `${/^[a-z]/.test(clean) ? clean : `t${clean}`}${RUN_ID}${counter.toString(36)}`;
}
