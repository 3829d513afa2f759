import { isObject, type YamlObject } from '../yaml/load.js';
import type { Manifest } from '../kustomize/render.js';
import { metadataOf } from '../kustomize/render.js';
import { nodeCommand } from '../docker/dockerfile.js';

export interface EnvAssignment {
  name: string;
  /** The value a literal or a ConfigMap key gives (undefined when it comes from a Secret). */
  value?: string;
  from: 'literal' | 'configMap' | 'secret';
}

/** One process the system runs, with the environment it gets. `entry` is the script it runs. */
export interface Workload {
  label: string;
  entry: string;
  env: EnvAssignment[];
  problems: string[];
}

/** Workloads of a docker-compose file: services whose command or image runs a node entry of this repository. */
export function composeWorkloads(
  services: Record<string, YamlObject>,
  entries: Record<string, string>,
): Workload[] {
  return Object.entries(services).flatMap(([name, service]) => {
    const entry = entries[name];
    if (!entry) return [];
    const environment = service['environment'];
    const pairs: [string, unknown][] = Array.isArray(environment)
      ? environment.map((item) => {
          const [key, ...rest] = String(item).split('=');
          return [key!, rest.length > 0 ? rest.join('=') : undefined];
        })
      : Object.entries(isObject(environment) ? environment : {});
    return [
      {
        label: `compose service ${name}`,
        entry,
        env: pairs.map(([key, value]) => ({
          name: key,
          from: 'literal' as const,
          ...(value === undefined || value === null ? {} : { value: String(value) }),
        })),
        problems: [],
      },
    ];
  });
}

/**
 * Workloads of rendered Kubernetes manifests: every container (init containers too) of a Deployment or Job whose
 * command is `node [flags] <entry>`. ConfigMap references are resolved against the ConfigMaps in the same render.
 */
export function kubernetesWorkloads(manifests: readonly Manifest[]): Workload[] {
  const configMaps = new Map(
    manifests
      .filter((m) => m.value['kind'] === 'ConfigMap')
      .map((m) => [
        String(metadataOf(m)['name']),
        (isObject(m.value['data']) ? m.value['data'] : {}) as Record<string, unknown>,
      ]),
  );
  return manifests.flatMap((m) => {
    const podSpec = podSpecOf(m.value);
    if (!podSpec) return [];
    const containers = [...asList(podSpec['initContainers']), ...asList(podSpec['containers'])];
    return containers.flatMap((container) => {
      const command = [container['command'], container['args']].flatMap((part) =>
        Array.isArray(part) ? part.map(String) : [],
      );
      const node = nodeCommand(command);
      if (!node) return [];
      const label = `${String(m.value['kind'])}/${String(metadataOf(m)['name'])} container ${String(container['name'])}`;
      const problems: string[] = [];
      const env = asList(container['env']).map((item): EnvAssignment => {
        const name = String(item['name']);
        if ('value' in item) return { name, value: String(item['value']), from: 'literal' };
        const valueFrom = isObject(item['valueFrom']) ? item['valueFrom'] : {};
        const secretRef = valueFrom['secretKeyRef'];
        if (isObject(secretRef)) return { name, from: 'secret' };
        const configRef = valueFrom['configMapKeyRef'];
        if (isObject(configRef)) {
          const data = configMaps.get(String(configRef['name']));
          const key = String(configRef['key']);
          if (!data)
            problems.push(`${name}: ConfigMap ${String(configRef['name'])} is not part of this render`);
          else if (!(key in data))
            problems.push(`${name}: ConfigMap ${String(configRef['name'])} has no key ${key}`);
          return { name, from: 'configMap', ...(data && key in data ? { value: String(data[key]) } : {}) };
        }
        problems.push(`${name}: neither a value nor a ConfigMap/Secret reference`);
        return { name, from: 'literal' };
      });
      if (asList(container['envFrom']).length > 0)
        problems.push('envFrom hides which variables are set; name each one');
      return [{ label, entry: node.script, env, problems }];
    });
  });
}

export function podSpecOf(resource: YamlObject): YamlObject | undefined {
  const spec = resource['spec'];
  if (!isObject(spec)) return undefined;
  const template = spec['template'];
  if (!isObject(template) || !isObject(template['spec'])) return undefined;
  return template['spec'];
}

export const asList = (value: unknown): YamlObject[] => (Array.isArray(value) ? value.filter(isObject) : []);
