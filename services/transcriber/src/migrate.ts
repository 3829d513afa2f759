import { runMigrationEntry } from '@calltx/db';
import { MIGRATIONS_TABLE, TRANSCRIBER_MIGRATIONS } from './db/migrations.js';

runMigrationEntry('transcriber', { table: MIGRATIONS_TABLE, migrations: TRANSCRIBER_MIGRATIONS });
