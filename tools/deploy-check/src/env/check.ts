import { type VariableSpec } from '@calltx/config';
import { VARIABLES } from '@calltx/shared';
import type { Workload } from './workloads.js';

/** What one entry reads: names from the shared VARIABLES table, plus variables of its own (same shape). */
export interface EntryVariables {
  shared: readonly string[];
  local?: Readonly<Record<string, VariableSpec>>;
}

export interface EnvCheckOptions {
  /** Keyed by entry script path, e.g. services/gateway/dist/main.js. */
  variablesByEntry: Record<string, EntryVariables>;
  /** Secret variables must come from a Secret reference (Kubernetes), not a literal or a ConfigMap. */
  secretsFromSecretRefs: boolean;
}

const SHARED: Readonly<Record<string, VariableSpec>> = VARIABLES;

/** What loadConfig does with an empty string (NATS_SUBJECT_PREFIX is the one variable where empty means something). */
const asRead = (name: string, value: string | undefined): string | undefined =>
  value === '' && name !== 'NATS_SUBJECT_PREFIX' ? undefined : value;

/** The spec of every variable an entry reads (shared names not in VARIABLES are left out: see unknownNames). */
export function entrySpecs(entry: EntryVariables): Map<string, VariableSpec> {
  const specs = new Map<string, VariableSpec>();
  for (const name of entry.shared) if (Object.hasOwn(SHARED, name)) specs.set(name, SHARED[name]!);
  for (const [name, spec] of Object.entries(entry.local ?? {})) specs.set(name, spec);
  return specs;
}

/** Variables that make the entry's config loading fail when unset: no default in the schema. */
export function requiredVariables(entry: EntryVariables): string[] {
  return [...entrySpecs(entry)]
    .filter(([, spec]) => !spec.schema.safeParse(undefined).success)
    .map(([name]) => name);
}

/**
 * Compares each workload's environment with the config schema of the entry it runs: every variable it requires
 * is set, nothing is set that it doesn't read (or that doesn't exist), values parse with the same zod schema the
 * service uses, secrets come from Secrets. Secret values are never put in a message.
 */
export function checkWorkloadEnv(workloads: readonly Workload[], options: EnvCheckOptions): string[] {
  const problems: string[] = [];
  for (const workload of workloads) {
    const report = (message: string) => problems.push(`${workload.label}: ${message}`);
    workload.problems.forEach(report);
    const entry = options.variablesByEntry[workload.entry];
    if (!entry) {
      report(`runs ${workload.entry}, whose variables deploy-check doesn't know`);
      continue;
    }
    for (const name of entry.shared) {
      if (!Object.hasOwn(SHARED, name))
        report(`${workload.entry} reads ${name}, which packages/shared VARIABLES doesn't declare`);
    }
    const specs = entrySpecs(entry);
    const seen = new Set<string>();
    for (const assignment of workload.env) {
      const { name } = assignment;
      if (seen.has(name)) report(`${name} is set twice`);
      seen.add(name);
      const spec = specs.get(name);
      if (!spec) {
        report(
          Object.hasOwn(SHARED, name)
            ? `${name} is set but ${workload.entry} doesn't read it`
            : `${name} is not a variable of the system (packages/shared VARIABLES or the entry's own)`,
        );
        continue;
      }
      if (spec.secret && options.secretsFromSecretRefs && assignment.from !== 'secret') {
        report(`${name} is secret: take it from a secretKeyRef, not a ${assignment.from}`);
      }
      if (assignment.from !== 'secret') {
        const result = spec.schema.safeParse(asRead(name, assignment.value));
        if (!result.success) {
          const shown = spec.secret ? '(secret value)' : JSON.stringify(assignment.value);
          report(`${name}=${shown} is invalid: ${result.error.issues.map((i) => i.message).join(', ')}`);
        }
      }
    }
    for (const name of requiredVariables(entry)) {
      if (!seen.has(name)) report(`${name} is required by ${workload.entry} and not set`);
    }
  }
  return problems;
}
