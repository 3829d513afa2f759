import { writeFile } from 'node:fs/promises';
import { renderConfigurationDoc } from '../src/config/docs.js';

await writeFile(new URL('../../../docs/configuration.md', import.meta.url), renderConfigurationDoc());
