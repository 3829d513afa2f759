/**
 * Where the typed model of a built-in or KEDA resource lives: kubernetes-models (generated from the Kubernetes
 * OpenAPI spec) and @kubernetes-models/keda (generated from KEDA's CRDs). Custom resources of operators with no
 * published models are validated by the schemas in ../../schemas instead (see crd-schemas.ts).
 */
export interface ModelLocation {
  /** Module exporting the class `kind` and the interface `I${kind}`. */
  module: string;
  kind: string;
}

export function modelLocation(apiVersion: string, kind: string): ModelLocation | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  if (apiVersion === 'keda.sh/v1alpha1')
    return { module: `@kubernetes-models/keda/keda.sh/v1alpha1/${kind}`, kind };
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!version || (group !== '' && group!.includes('.') && !group!.endsWith('.k8s.io'))) return undefined;
  return {
    module:
      group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`,
    kind,
  };
}
