import { z } from 'zod';

/**
 * One environment variable: how it is parsed and checked, and what it means. Each package declares the variables
 * its own code reads, each service composes its table from those of the packages it uses plus its own, and
 * docs/configuration.md and the deployment checks are generated from the services' tables.
 */
export interface VariableSpec<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly description: string;
  /** Never logged, never echoed in error messages. */
  readonly secret?: boolean;
  /** An empty value is a value (e.g. an empty prefix), not an unset variable. */
  readonly keepEmpty?: boolean;
}

export type VariableTable = Readonly<Record<string, VariableSpec>>;

/** The validated values of a table's variables. */
export type Config<T extends VariableTable> = { readonly [K in keyof T]: z.output<T[K]['schema']> };

export const variable = <S extends z.ZodType>(
  schema: S,
  description: string,
  options: { secret?: boolean; keepEmpty?: boolean } = {},
): VariableSpec<S> => ({
  schema,
  description,
  secret: options.secret ?? false,
  keepEmpty: options.keepEmpty,
});

/** Some of a table's variables, for an entry that reads only those (the same specs, so the docs agree). */
export function pickVariables<T extends VariableTable, N extends keyof T & string>(
  table: T,
  names: readonly N[],
): Pick<T, N> {
  return Object.fromEntries(names.map((name) => [name, table[name]])) as Pick<T, N>;
}

export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * The path of a file mounted into the container (a certificate, a key). Only its form is checked here: the
 * deployment checks parse manifests on machines that do not have the file.
 */
export const absolutePath = z.string().regex(/^\/\S*$/, 'must be an absolute file path');

export const positiveInt = (min: number, fallback: number) =>
  z.coerce.number().int().min(min).default(fallback);

export const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .default(fallback);

/** `key=speaker,key=speaker` with every one of `keys` mapped to a speaker name. */
export const speakerMap = (keys: readonly string[]) =>
  z.string().transform((value, ctx) => {
    const map: Record<string, string> = {};
    for (const pair of value.split(',')) {
      const [key, speaker] = pair.split('=').map((part) => part.trim());
      if (!key || !speaker || !keys.includes(key) || !/^[a-z][a-z0-9-]*$/.test(speaker)) {
        ctx.addIssue({ code: 'custom', message: `expected ${keys.map((k) => `${k}=<speaker>`).join(',')}` });
        return z.NEVER;
      }
      map[key] = speaker;
    }
    if (keys.some((key) => map[key] === undefined)) {
      ctx.addIssue({ code: 'custom', message: `every one of ${keys.join(', ')} needs a speaker` });
      return z.NEVER;
    }
    return map;
  });
