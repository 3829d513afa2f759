export { DATABASE_VARIABLES, SSL_MODES } from './variables.js';
export {
  createPool,
  databaseAnswers,
  databaseConnection,
  pgConnectionConfig,
  type DatabaseConnection,
  type Pool,
  type PoolClient,
  type PoolOptions,
} from './pool.js';
export {
  runMigrations,
  MigrationChecksumError,
  type Migration,
  type MigrationOptions,
  type MigrationResult,
} from './migrations.js';
export { withTransaction, type TransactionOptions } from './transaction.js';
export { DatabaseError, toDatabaseError } from './database-error.js';
export { runMigrationEntry, MIGRATE_VARIABLES } from './migrate-entry.js';
