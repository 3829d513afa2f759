import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** `CREATE TABLE [IF NOT EXISTS] name` in a service's migrations: the tables it owns. */
const CREATES = /\bCREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)/g;
/** Where SQL names a table (keywords in capitals, as the code base writes SQL). */
const NAMES =
  /\b(?:FROM|JOIN|INTO|UPDATE|TRUNCATE|ALTER TABLE|DROP TABLE|TABLE(?: IF (?:NOT )?EXISTS)?)\s+([a-z_][a-z0-9_]*)\b/g;

export interface SourceFile {
  path: string;
  text: string;
}

export async function sourceFiles(root: string, dir: string): Promise<SourceFile[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: true });
  return Promise.all(
    entries
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return { path: relative(root, path), text: await readFile(path, 'utf8') };
      }),
  );
}

/** Table → owning service, from each service's migrations (files named *migrations*.ts). */
export function tableOwners(files: Record<string, readonly SourceFile[]>): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const [service, sources] of Object.entries(files)) {
    for (const { path, text } of sources) {
      if (!/migrations\.ts$/.test(path)) continue;
      for (const [, table] of text.matchAll(CREATES)) {
        const current = owners.get(table!) ?? [];
        if (!current.includes(service)) owners.set(table!, [...current, service]);
      }
    }
  }
  return owners;
}

export interface ForeignQuery {
  service: string;
  path: string;
  table: string;
  owner: string;
}

/** Every place a service's source names a table that another service owns. */
export function foreignQueries(
  files: Record<string, readonly SourceFile[]>,
  owners: ReadonlyMap<string, readonly string[]>,
): ForeignQuery[] {
  const found: ForeignQuery[] = [];
  for (const [service, sources] of Object.entries(files)) {
    for (const { path, text } of sources) {
      for (const [, table] of text.matchAll(NAMES)) {
        const owner = owners.get(table!)?.[0];
        if (owner !== undefined && owner !== service) found.push({ service, path, table: table!, owner });
      }
    }
  }
  return found;
}
