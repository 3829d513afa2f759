import { ConfigError } from './config-error.js';
import type { Config, VariableTable } from './variables.js';

/** The value an entry reads: an empty string counts as unset unless the variable keeps empty values. */
export const asRead = (spec: VariableTable[string], value: string | undefined): string | undefined =>
  value === '' && !spec.keepEmpty ? undefined : value;

/**
 * Reads and validates a table's variables at once. Every problem is reported in one ConfigError, naming the
 * variable; secret values are never echoed.
 */
export function loadConfig<T extends VariableTable>(
  table: T,
  env: Record<string, string | undefined> = process.env,
): Config<T> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    const raw = env[name];
    const result = spec.schema.safeParse(asRead(spec, raw));
    if (result.success) {
      config[name] = result.data;
    } else {
      const reason =
        raw === undefined || raw === ''
          ? 'is required'
          : result.error.issues.map((i) => i.message).join(', ');
      problems.push(`${name} ${reason}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as Config<T>;
}
