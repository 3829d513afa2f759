import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from '@calltx/shared';
import { API_LOCAL_VARIABLES } from './api/config.js';
import { CONFIGURATION_TABLES } from './config-doc.js';

describe('docs/configuration.md', () => {
  it('matches the variables declared in code, the api’s own included (regenerate with `pnpm docs:config`)', async () => {
    const doc = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderConfigurationDoc(CONFIGURATION_TABLES));
    for (const name of Object.keys(API_LOCAL_VARIABLES)) expect(doc).toContain(`| \`${name}\` |`);
  });
});
