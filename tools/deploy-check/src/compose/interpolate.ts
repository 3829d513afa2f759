import { DeployCheckError } from '../errors.js';

/**
 * Compose's variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `$$`) against
 * the given environment: what `docker compose config` resolves before validating the file.
 */
export function interpolate(value: unknown, env: Record<string, string | undefined>, where = ''): unknown {
  if (typeof value === 'string') return interpolateString(value, env, where);
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, `${where}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, where ? `${where}.${k}` : k)]),
    );
  }
  return value;
}

const PATTERN = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function interpolateString(text: string, env: Record<string, string | undefined>, where: string): string {
  return text.replace(
    PATTERN,
    (match, braced?: string, operator?: string, argument?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const value = env[name];
      const unset = operator?.startsWith(':') ? value === undefined || value === '' : value === undefined;
      if (!unset || !operator) return value ?? '';
      if (operator.endsWith('?'))
        throw new DeployCheckError(`${where}: required variable ${name} is not set (${argument ?? ''})`);
      return argument ?? '';
    },
  );
}
