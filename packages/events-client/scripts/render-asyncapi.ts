/** `pnpm docs:events`: rewrites docs/api/asyncapi.yaml from the shared zod schemas. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ASYNCAPI_PATH, asyncApiYaml } from '../src/index.js';

const target = fileURLToPath(new URL(`../../../${ASYNCAPI_PATH}`, import.meta.url));
writeFileSync(target, asyncApiYaml());
console.log(`wrote ${ASYNCAPI_PATH}`);
