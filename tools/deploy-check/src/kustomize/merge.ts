import { isObject, type YamlObject } from '../yaml/load.js';

/**
 * List fields Kubernetes merges by key under a strategic merge patch (x-kubernetes-patch-merge-key in the API's
 * OpenAPI). Every other list is replaced whole, as the API server does for lists without a merge key.
 */
const MERGE_KEYS: Record<string, (items: readonly unknown[]) => string> = {
  containers: () => 'name',
  initContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  volumeMounts: () => 'mountPath',
  imagePullSecrets: () => 'name',
  // Container ports merge on containerPort, Service ports on port.
  ports: (items) =>
    items.some((item) => isObject(item) && 'containerPort' in item) ? 'containerPort' : 'port',
};

/** Strategic merge patch, limited to maps, `null` deletions and the merge keys above (what our overlays use). */
export function strategicMerge(target: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) {
    const keyOf = MERGE_KEYS[field];
    if (!keyOf || !Array.isArray(target)) return structuredClone(patch);
    const key = keyOf([...target, ...patch]);
    const merged = target.map((item: unknown) => structuredClone(item));
    for (const item of patch) {
      const index = merged.findIndex(
        (existing) => isObject(existing) && isObject(item) && existing[key] === item[key],
      );
      if (index === -1) merged.push(structuredClone(item));
      else merged[index] = strategicMerge(merged[index], item, field);
    }
    return merged;
  }
  if (!isObject(patch) || !isObject(target)) return structuredClone(patch);
  const result: YamlObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = key in result ? strategicMerge(result[key], value, key) : structuredClone(value);
  }
  return result;
}

/** RFC 7386 JSON merge patch: what kustomize applies to custom resources, whose schema it doesn't know. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: YamlObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = jsonMergePatch(result[key], value);
  }
  return result;
}
