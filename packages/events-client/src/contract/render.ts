import { stringify } from 'yaml';
import { asyncApiDocument } from './asyncapi.js';

export const ASYNCAPI_PATH = 'docs/api/asyncapi.yaml';

const HEADER = `# Generated from the zod schemas in packages/events/src by \`pnpm docs:events\`. Do not edit by hand:
# a test fails when this file and the schemas disagree.
`;

/** The AsyncAPI document as committed at ASYNCAPI_PATH (single quotes: the form the repository's Prettier keeps). */
export function asyncApiYaml(): string {
  return (
    HEADER + stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true })
  );
}
