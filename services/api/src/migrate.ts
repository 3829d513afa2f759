import { runMigrationEntry } from '@calltx/db';
import { API_MIGRATIONS, MIGRATIONS_TABLE } from './read-model/migrations.js';

runMigrationEntry('api', { table: MIGRATIONS_TABLE, migrations: API_MIGRATIONS });
