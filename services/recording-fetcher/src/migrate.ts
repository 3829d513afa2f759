import { runMigrationEntry } from '@calltx/db';
import { MIGRATIONS_TABLE, RECORDING_MIGRATIONS } from './db/migrations.js';

runMigrationEntry('recording-fetcher', { table: MIGRATIONS_TABLE, migrations: RECORDING_MIGRATIONS });
