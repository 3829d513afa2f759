import { writeFile } from 'node:fs/promises';
import { renderConfigurationDoc } from './render.js';
import { SERVICE_VARIABLES } from './services.js';

await writeFile(
  new URL('../../../docs/configuration.md', import.meta.url),
  renderConfigurationDoc(SERVICE_VARIABLES),
);
