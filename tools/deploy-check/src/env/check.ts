import { asRead, type VariableTable } from '@calltx/config';
import type { Workload } from './workloads.js';

export interface EnvCheckOptions {
  /** What each entry reads, keyed by entry script path, e.g. services/gateway/dist/main.js. */
  variablesByEntry: Record<string, VariableTable>;
  /** Secret variables must come from a Secret reference (Kubernetes), not a literal or a ConfigMap. */
  secretsFromSecretRefs: boolean;
}

/** Variables that make the entry's config loading fail when unset: no default in the schema. */
export function requiredVariables(table: VariableTable): string[] {
  return Object.entries(table)
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
  const system = new Set(Object.values(options.variablesByEntry).flatMap((table) => Object.keys(table)));
  for (const workload of workloads) {
    const report = (message: string) => problems.push(`${workload.label}: ${message}`);
    workload.problems.forEach(report);
    const entry = options.variablesByEntry[workload.entry];
    if (!entry) {
      report(`runs ${workload.entry}, whose variables deploy-check doesn't know`);
      continue;
    }
    const seen = new Set<string>();
    for (const assignment of workload.env) {
      const { name } = assignment;
      if (seen.has(name)) report(`${name} is set twice`);
      seen.add(name);
      const spec = Object.hasOwn(entry, name) ? entry[name] : undefined;
      if (!spec) {
        report(
          system.has(name)
            ? `${name} is set but ${workload.entry} doesn't read it`
            : `${name} is not a variable of the system (no entry reads it)`,
        );
        continue;
      }
      if (spec.secret && options.secretsFromSecretRefs && assignment.from !== 'secret') {
        report(`${name} is secret: take it from a secretKeyRef, not a ${assignment.from}`);
      }
      if (assignment.from !== 'secret') {
        const result = spec.schema.safeParse(asRead(spec, assignment.value));
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
