import { writeFile } from 'node:fs/promises';
import { CONFIGURATION_TABLES } from '../src/config-doc.js';
import { renderConfigurationDoc } from '@calltx/shared';

await writeFile(
  new URL('../../../docs/configuration.md', import.meta.url),
  renderConfigurationDoc(CONFIGURATION_TABLES),
);
