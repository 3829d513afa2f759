import { VARIABLES, type VariableSpec } from './variables.js';

export interface ConfigurationTable {
  /** Where the table is declared, named in the document. */
  source: string;
  variables: Readonly<Record<string, VariableSpec>>;
}

/** The shared table; services add the variables they declare beside their code. */
export const SHARED_VARIABLES_TABLE: ConfigurationTable = {
  source: 'packages/shared/src/config/variables.ts',
  variables: VARIABLES,
};

function defaultOf(spec: VariableSpec): string {
  const result = spec.schema.safeParse(undefined);
  if (!result.success) return 'required';
  const value: unknown = result.data;
  if (value === undefined) return '(none)';
  if (value === '') return '(empty)';
  if (Array.isArray(value) && value.length === 0) return '(none)';
  if (typeof value === 'object' && value !== null)
    return `\`${Object.entries(value)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',')}\``;
  return `\`${String(value)}\``;
}

/** docs/configuration.md, rendered from the variable tables so the document can't drift from the code. */
export function renderConfigurationDoc(
  tables: readonly ConfigurationTable[] = [SHARED_VARIABLES_TABLE],
): string {
  const rows = tables.flatMap(({ variables }) =>
    Object.entries(variables).map(
      ([name, spec]) =>
        `| \`${name}\` | ${defaultOf(spec)} | ${spec.secret ? 'yes' : ''} | ${spec.description} |`,
    ),
  );
  const sources = tables.map(({ source }) => `\`${source}\``).join(' and ');
  return [
    '# Configuration',
    '',
    'Every service is configured by environment variables only. Each service reads just the variables it needs, validates them all at start, and exits non-zero with one message naming every missing or invalid variable. Secret values are never logged or echoed.',
    '',
    `This file is generated from ${sources} (\`pnpm docs:config\`); a test fails when they differ.`,
    '',
    '| Variable | Default | Secret | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
