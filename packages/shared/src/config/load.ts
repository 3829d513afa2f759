import { ConfigError } from '../errors/index.js';
import { VARIABLES, type VariableName, type VariableValue } from './variables.js';

export type Config<N extends VariableName> = { readonly [K in N]: VariableValue<K> };

/**
 * Reads and validates the named variables at once. Every problem is reported in one ConfigError, naming the
 * variable; secret values are never echoed.
 */
export function loadConfig<N extends VariableName>(
  names: readonly N[],
  env: Record<string, string | undefined> = process.env,
): Config<N> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const name of names) {
    const raw = env[name];
    const result = VARIABLES[name].schema.safeParse(
      raw === '' && name !== 'NATS_SUBJECT_PREFIX' ? undefined : raw,
    );
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
  return config as Config<N>;
}
