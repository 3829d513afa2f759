import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { variable } from '@calltx/config';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { renderConfigurationDoc } from './render.js';
import { SERVICE_VARIABLES } from './services.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => !file.includes(`${path.sep}testing${path.sep}`));
}

describe('docs/configuration.md', () => {
  it("matches the services' variable tables (regenerate with `pnpm docs:config`)", async () => {
    const doc = await readFile(path.join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(doc).toBe(renderConfigurationDoc(SERVICE_VARIABLES));
  });

  it('covers every service', async () => {
    const folders = (await readdir(path.join(ROOT, 'services'), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(Object.keys(SERVICE_VARIABLES).sort()).toEqual(folders.sort());
  });

  it.each(Object.keys(SERVICE_VARIABLES))(
    '%s reads no variable its table leaves out (config.X, process.env.X)',
    async (service) => {
      const read = new Set<string>();
      for (const file of await sourceFiles(path.join(ROOT, 'services', service, 'src'))) {
        const text = await readFile(file, 'utf8');
        for (const match of text.matchAll(/\b(?:config|process\.env)(?:\.|\[')([A-Z][A-Z0-9_]+)\b/g)) {
          read.add(match[1]!);
        }
      }
      const table = SERVICE_VARIABLES[service]!;
      expect([...read].filter((name) => !Object.hasOwn(table, name))).toEqual([]);
    },
  );

  it('refuses one name declared twice with different meanings', () => {
    const a = { PORT: variable(z.string(), 'one') };
    const b = { PORT: variable(z.string(), 'another') };
    expect(() => renderConfigurationDoc({ a, b })).toThrow(/PORT is declared twice \(a and b\)/);
    expect(renderConfigurationDoc({ a, b: a })).toContain('| `PORT` | required |  | a, b | one |');
  });
});
