import { createHash } from 'node:crypto';
import pg from 'pg';
import { DatabaseError } from './database-error.js';
import { withTransaction } from './transaction.js';

export interface Migration {
  /** Stable and unique, e.g. "001_create_calls". Applied in array order. */
  id: string;
  sql: string;
}

export interface MigrationOptions {
  /** Table that records applied migrations (created if missing). */
  table: string;
  migrations: readonly Migration[];
  /** Schema that holds the table and, via search_path, the migrations' unqualified objects. Created if missing. */
  schema?: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/** An applied migration's SQL changed afterwards: the database no longer matches the code's history. */
export class MigrationChecksumError extends DatabaseError {
  constructor(readonly migrationId: string) {
    super('migration', undefined, {
      message:
        `migration "${migrationId}" was changed after it was applied (checksum differs). ` +
        'Restore its original SQL and add a new migration for the change.',
      retryable: false,
    });
  }
}

/**
 * Applies the pending migrations, all in one transaction, under a transaction-scoped advisory lock: replicas
 * that start together queue on the lock, and each later one finds everything applied. Migrations that cannot
 * run inside a transaction (CREATE INDEX CONCURRENTLY) are not supported.
 */
export async function runMigrations(pool: pg.Pool, options: MigrationOptions): Promise<MigrationResult> {
  checkIds(options.migrations);
  const schema = options.schema === undefined ? undefined : pg.escapeIdentifier(options.schema);
  const table =
    schema === undefined
      ? pg.escapeIdentifier(options.table)
      : `${schema}.${pg.escapeIdentifier(options.table)}`;

  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(options.schema, options.table)]);
    if (schema !== undefined) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`SET LOCAL search_path TO ${schema}`);
    }
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         id text PRIMARY KEY,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ id: string; checksum: string }>(
      `SELECT id, checksum FROM ${table}`,
    );
    const appliedChecksums = new Map(rows.map((row) => [row.id, row.checksum]));

    // Check the whole history before changing anything. Ids unknown to this code are fine: a newer replica
    // applied them during a rolling deploy.
    for (const migration of options.migrations) {
      const recorded = appliedChecksums.get(migration.id);
      if (recorded !== undefined && recorded !== checksum(migration.sql)) {
        throw new MigrationChecksumError(migration.id);
      }
    }

    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const migration of options.migrations) {
      if (appliedChecksums.has(migration.id)) {
        result.alreadyApplied.push(migration.id);
        continue;
      }
      try {
        await client.query(migration.sql);
      } catch (error) {
        throw new DatabaseError('migration', error, {
          message: `migration "${migration.id}" failed: ${(error as Error).message}`,
        });
      }
      await client.query(`INSERT INTO ${table} (id, checksum) VALUES ($1, $2)`, [
        migration.id,
        checksum(migration.sql),
      ]);
      result.applied.push(migration.id);
    }
    return result;
  });
}

function checkIds(migrations: readonly Migration[]): void {
  const seen = new Set<string>();
  for (const { id } of migrations) {
    if (id.trim() === '') throw new RangeError('migration id must not be empty');
    if (seen.has(id)) throw new RangeError(`migration id "${id}" appears twice`);
    seen.add(id);
  }
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/** One lock per migrations table, so unrelated migration sets in one database do not wait on each other. */
function lockKey(schema: string | undefined, table: string): string {
  return createHash('sha256')
    .update(`calltx-migrations:${schema ?? ''}.${table}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}
