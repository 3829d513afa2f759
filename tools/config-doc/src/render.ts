import { VARIABLES, type VariableName } from './variables.js';

function defaultOf(name: VariableName): string {
  const result = VARIABLES[name].schema.safeParse(undefined);
  if (!result.success) return 'required';
  const value = result.data;
  if (value === '') return '(empty)';
  if (typeof value === 'object' && value !== null)
    return `\`${Object.entries(value)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',')}\``;
  return `\`${String(value)}\``;
}

/** docs/configuration.md, rendered from VARIABLES so the document can't drift from the code. */
export function renderConfigurationDoc(): string {
  const rows = (Object.keys(VARIABLES) as VariableName[]).map((name) => {
    const spec = VARIABLES[name];
    return `| \`${name}\` | ${defaultOf(name)} | ${'secret' in spec && spec.secret ? 'yes' : ''} | ${spec.description} |`;
  });
  return [
    '# Configuration',
    '',
    'Every service is configured by environment variables only. Each service reads just the variables it needs, validates them all at start, and exits non-zero with one message naming every missing or invalid variable. Secret values are never logged or echoed.',
    '',
    'This file is generated from `packages/shared/src/config/variables.ts` (`pnpm docs:config`); a test fails when they differ.',
    '',
    '| Variable | Default | Secret | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
