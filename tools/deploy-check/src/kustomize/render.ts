import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { DeployCheckError } from '../errors.js';
import { isObject, loadYamlDocuments, loadYamlObject, type YamlObject } from '../yaml/load.js';
import { jsonMergePatch, strategicMerge } from './merge.js';

export interface Manifest {
  /** Where the resource was declared: file and document index. */
  source: string;
  value: YamlObject;
}

/**
 * The subset of kustomize this repository's kustomizations use, rendered in-process (there is no kustomize
 * binary here, and no npm package runs one): `resources` (files and directories), `namespace`, `images` and
 * `patches` (strategic merge for built-in kinds, JSON merge for custom resources; target by the patch's own
 * kind and name or by `target.kind`/`target.name`). Any other field fails loudly, so an overlay can't rely on a
 * feature this renderer would silently ignore.
 */
export function renderKustomization(dir: string): Manifest[] {
  const file = path.join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new DeployCheckError(`${dir} has no kustomization.yaml`);
  const kustomization = loadYamlObject(file);
  const unsupported = Object.keys(kustomization).filter((key) => !SUPPORTED_FIELDS.has(key));
  if (unsupported.length > 0) {
    throw new DeployCheckError(`${file} uses fields outside deploy-check's kustomize subset`, unsupported);
  }
  if (
    kustomization['kind'] !== 'Kustomization' ||
    kustomization['apiVersion'] !== 'kustomize.config.k8s.io/v1beta1'
  ) {
    throw new DeployCheckError(`${file} is not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  }

  let manifests = stringList(kustomization, 'resources', file).flatMap((entry) =>
    loadResource(path.resolve(dir, entry)),
  );
  manifests = applyPatches(manifests, kustomization['patches'], dir, file);
  manifests = applyImages(manifests, kustomization['images'], file);
  const namespace = kustomization['namespace'];
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') throw new DeployCheckError(`${file}: namespace must be a string`);
    manifests = manifests.map((m) => ({
      ...m,
      value: { ...m.value, metadata: { ...metadataOf(m), namespace } },
    }));
  }
  assertUniqueIds(manifests, file);
  return manifests;
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);

function loadResource(target: string): Manifest[] {
  if (!existsSync(target)) throw new DeployCheckError(`resource ${target} does not exist`);
  if (statSync(target).isDirectory()) return renderKustomization(target);
  return loadYamlDocuments(target).map((doc) => ({ source: `${doc.file}#${doc.index}`, value: doc.value }));
}

function applyPatches(manifests: Manifest[], patches: unknown, dir: string, file: string): Manifest[] {
  if (patches === undefined) return manifests;
  if (!Array.isArray(patches)) throw new DeployCheckError(`${file}: patches must be a list`);
  let result = manifests;
  for (const entry of patches) {
    if (!isObject(entry) || Object.keys(entry).some((k) => k !== 'path' && k !== 'target')) {
      throw new DeployCheckError(
        `${file}: each patch needs a path (and optionally a target); inline patches are not supported`,
      );
    }
    const patchFile = path.resolve(dir, String(entry['path']));
    const patch = loadYamlObject(patchFile);
    const target = isObject(entry['target']) ? entry['target'] : {};
    const kind = (target['kind'] as string | undefined) ?? (patch['kind'] as string | undefined);
    const name =
      (target['name'] as string | undefined) ??
      (isObject(patch['metadata']) ? (patch['metadata']['name'] as string) : undefined);
    const matches = result.filter((m) => m.value['kind'] === kind && metadataOf(m)['name'] === name);
    if (matches.length !== 1) {
      throw new DeployCheckError(
        `${patchFile}: the patch must match exactly one resource, matched ${matches.length} (${kind}/${name})`,
      );
    }
    const merge = isBuiltIn(String(matches[0]!.value['apiVersion'])) ? strategicMerge : jsonMergePatch;
    result = result.map((m) => (m === matches[0] ? { ...m, value: merge(m.value, patch) as YamlObject } : m));
  }
  return result;
}

function applyImages(manifests: Manifest[], images: unknown, file: string): Manifest[] {
  if (images === undefined) return manifests;
  if (!Array.isArray(images)) throw new DeployCheckError(`${file}: images must be a list`);
  const rules = images.map((rule) => {
    if (!isObject(rule) || typeof rule['name'] !== 'string')
      throw new DeployCheckError(`${file}: each image needs a name`);
    return rule as { name: string; newName?: string; newTag?: string; digest?: string };
  });
  const rewrite = (image: string): string => {
    const { name, tag } = splitImage(image);
    const rule = rules.find((r) => r.name === name);
    if (!rule) return image;
    const newName = rule.newName ?? name;
    if (rule.digest) return `${newName}@${rule.digest}`;
    const newTag = rule.newTag ?? tag;
    return newTag ? `${newName}:${newTag}` : newName;
  };
  const visit = (node: unknown, key = ''): unknown => {
    if (Array.isArray(node)) {
      return node.map((item: unknown) =>
        (key === 'containers' || key === 'initContainers') &&
        isObject(item) &&
        typeof item['image'] === 'string'
          ? visit({ ...item, image: rewrite(item['image']) })
          : visit(item),
      );
    }
    if (!isObject(node)) return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v, k)]));
  };
  return manifests.map((m) => ({ ...m, value: visit(m.value) as YamlObject }));
}

/** Image reference → name and tag (a registry port, as in host:5000/app, is part of the name). */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = image.split('@') as [string, string | undefined];
  const colon = withoutDigest.lastIndexOf(':');
  const tagged = colon > withoutDigest.lastIndexOf('/');
  return {
    name: tagged ? withoutDigest.slice(0, colon) : withoutDigest,
    ...(tagged ? { tag: withoutDigest.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** Built-in API groups get strategic merge; custom resources (a dotted group outside k8s.io) get JSON merge. */
export function isBuiltIn(apiVersion: string): boolean {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  return !group.includes('.') || group.endsWith('.k8s.io');
}

export function metadataOf(manifest: Manifest): YamlObject {
  return isObject(manifest.value['metadata']) ? manifest.value['metadata'] : {};
}

function stringList(object: YamlObject, key: string, file: string): string[] {
  const value = object[key] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new DeployCheckError(`${file}: ${key} must be a list of paths`);
  }
  return value as string[];
}

function assertUniqueIds(manifests: Manifest[], file: string): void {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const m of manifests) {
    const meta = metadataOf(m);
    const id = `${String(m.value['apiVersion'])} ${String(m.value['kind'])} ${String(meta['namespace'] ?? '')}/${String(meta['name'])}`;
    const previous = seen.get(id);
    if (previous) problems.push(`${id} is declared in ${previous} and ${m.source}`);
    seen.set(id, m.source);
  }
  if (problems.length > 0) throw new DeployCheckError(`${file} renders duplicate resources`, problems);
}
