import { repoPath } from '../repo.js';
import { renderKustomization, metadataOf, type Manifest } from '../kustomize/render.js';
import { isObject, type YamlObject } from '../yaml/load.js';

export const OVERLAYS = ['dev', 'prod'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export const K8S_DIR = repoPath('deploy/k8s');
export const COMPOSE_FILE = repoPath('docker-compose.yml');
export const DOCKERFILE = repoPath('deploy/docker/Dockerfile');

export const renderOverlay = (overlay: Overlay): Manifest[] =>
  renderKustomization(repoPath('deploy/k8s/overlays', overlay));

/** A rendered resource, typed as the caller expects it (the schema tests are what check it has that shape). */
export function find<T = YamlObject>(manifests: readonly Manifest[], kind: string, name: string): T {
  const found = manifests.find((m) => m.value['kind'] === kind && metadataOf(m)['name'] === name);
  if (!found) throw new Error(`${kind}/${name} is not rendered`);
  return found.value as T;
}

export const ofKind = <T = YamlObject>(manifests: readonly Manifest[], kind: string): T[] =>
  manifests.filter((m) => m.value['kind'] === kind).map((m) => m.value as T);

/** A path into parsed YAML, failing with the path when a step is missing. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let node = value;
  for (const step of path) {
    if (typeof step === 'number' ? !Array.isArray(node) : !isObject(node))
      throw new Error(`no ${path.join('.')}`);
    node = (node as Record<string | number, unknown>)[step];
  }
  return node;
}

export const configData = (manifests: readonly Manifest[]): Record<string, string> =>
  at(find(manifests, 'ConfigMap', 'calltx-config'), 'data') as Record<string, string>;
