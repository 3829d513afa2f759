import type { Manifest } from '../kustomize/render.js';
import { crdValidator } from './crd-schemas.js';
import { modelLocation } from './models.js';
import { checkUnknownFields, type StrictCheckInput } from './strict-fields.js';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/**
 * Every problem with a list of manifests, each prefixed by its source: schema errors from the Kubernetes
 * (kubernetes-models) and KEDA (@kubernetes-models/keda) models, unknown fields (strict-fields.ts), and the
 * vendored subset schemas for CloudNativePG, the Barman Cloud plugin and MinIO. A kind with no schema at all is
 * a problem too: nothing goes unchecked.
 */
export async function validateManifests(manifests: readonly Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  const strictInputs: StrictCheckInput[] = [];
  for (const manifest of manifests) {
    const apiVersion = String(manifest.value['apiVersion']);
    const kind = String(manifest.value['kind']);
    const label = `${manifest.source} (${kind})`;
    const crd = crdValidator(apiVersion, kind);
    if (crd) {
      if (!crd(manifest.value)) {
        for (const e of crd.errors ?? [])
          problems.push(`${label}: ${e.instancePath || '/'} ${e.message ?? ''} ${formatParams(e.params)}`);
      }
      continue;
    }
    const location = modelLocation(apiVersion, kind);
    const model = location && (await loadModel(location.module, kind));
    if (!location || !model) {
      problems.push(`${label}: no schema for ${apiVersion} ${kind}`);
      continue;
    }
    try {
      new model(manifest.value).validate();
    } catch (error) {
      problems.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
    strictInputs.push({ label, location, value: manifest.value });
  }
  return [...problems, ...checkUnknownFields(strictInputs)];
}

async function loadModel(module: string, kind: string): Promise<ModelClass | undefined> {
  try {
    const exports = (await import(module)) as Record<string, unknown>;
    return typeof exports[kind] === 'function' ? (exports[kind] as ModelClass) : undefined;
  } catch {
    return undefined;
  }
}

const formatParams = (params: Record<string, unknown>): string =>
  Object.keys(params).length > 0 ? JSON.stringify(params) : '';
