import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc } from './docs.js';

describe('docs/configuration.md', () => {
  it('matches the variables declared in code (regenerate with `pnpm docs:config`)', async () => {
    const doc = await readFile(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderConfigurationDoc());
  });
});
