import type { VariableSpec, VariableTable } from '@calltx/config';

function defaultOf(spec: VariableSpec): string {
  const result = spec.schema.safeParse(undefined);
  if (!result.success) return 'required';
  const value: unknown = result.data;
  if (value === undefined) return '(none)';
  if (value === '' || (Array.isArray(value) && value.length === 0)) return '(empty)';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  if (typeof value === 'object' && value !== null)
    return `\`${Object.entries(value)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',')}\``;
  return `\`${String(value)}\``;
}

/**
 * docs/configuration.md, rendered from the services' variable tables so the document can't drift from the code.
 * A variable read by several services comes from one declaration (a package's table): two different specs
 * under one name are refused.
 */
export function renderConfigurationDoc(services: Readonly<Record<string, VariableTable>>): string {
  const variables = new Map<string, { spec: VariableSpec; readers: string[] }>();
  for (const [service, table] of Object.entries(services)) {
    for (const [name, spec] of Object.entries(table)) {
      const known = variables.get(name);
      if (!known) variables.set(name, { spec, readers: [service] });
      else if (known.spec !== spec) {
        throw new Error(
          `${name} is declared twice (${known.readers.join(', ')} and ${service}): declare it once`,
        );
      } else known.readers.push(service);
    }
  }
  const rows = [...variables].map(
    ([name, { spec, readers }]) =>
      `| \`${name}\` | ${defaultOf(spec)} | ${spec.secret ? 'yes' : ''} | ${readers.join(', ')} | ${spec.description} |`,
  );
  return [
    '# Configuration',
    '',
    'Every service is configured by environment variables only. Each service reads just the variables it needs, validates them all at start, and exits non-zero with one message naming every missing or invalid variable. Secret values are never logged or echoed.',
    '',
    "This file is generated (`pnpm docs:config`) from each service's variable table (`services/<name>/src/config.ts`), which composes the variables of the packages it uses (`NATS_VARIABLES` of `@calltx/nats`, `STORAGE_VARIABLES` of `@calltx/storage`, `DATABASE_VARIABLES` of `@calltx/db`, `RUNTIME_VARIABLES` of `@calltx/runtime`, `TWILIO_ACCOUNT_VARIABLES` of `@calltx/twilio-account`) with its own; the list of services is `tools/config-doc/src/services.ts`. A test fails when they differ.",
    '',
    '| Variable | Default | Secret | Read by | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
