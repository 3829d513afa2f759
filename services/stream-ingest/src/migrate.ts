import { runMigrationEntry } from '@calltx/db';
import { MIGRATIONS, MIGRATIONS_TABLE } from './db/migrations.js';

runMigrationEntry('stream-ingest', { table: MIGRATIONS_TABLE, migrations: MIGRATIONS });
