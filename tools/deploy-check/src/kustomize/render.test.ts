import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { afterEach, describe, expect, it } from 'vitest';
import { DeployCheckError } from '../errors.js';
import { renderKustomization, splitImage } from './render.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kustomize-'));
  dirs.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

const KUSTOMIZATION = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: app }
spec:
  template:
    spec:
      initContainers: [{ name: init, image: example/init }]
      containers:
        - name: app
          image: example/app:1
          args: [a, b]
          env: [{ name: A, value: "1" }, { name: B, value: "2" }]
          ports: [{ name: http, containerPort: 8080 }]
        - name: sidecar
          image: registry.local:5000/side
`;

describe('renderKustomization', () => {
  it('renders resources, namespace, images and strategic-merge patches as kustomize does', () => {
    const root = tree({
      'base/kustomization.yaml': `${KUSTOMIZATION}resources: [app.yaml]\n`,
      'base/app.yaml': `${DEPLOYMENT}---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: { name: app }\nspec:\n  triggers: [{ type: cpu, metadata: { a: "1" } }]\n  maxReplicaCount: 3\n`,
      'overlay/kustomization.yaml': `${KUSTOMIZATION}namespace: ns
resources: [../base]
images:
  - { name: example/app, newTag: "2" }
  - { name: example/init, newName: other/init, newTag: v9 }
  - { name: registry.local:5000/side, digest: "sha256:abc" }
patches:
  - path: app.patch.yaml
  - path: scaled.patch.yaml
`,
      'overlay/app.patch.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: app }
spec:
  template:
    spec:
      containers:
        - name: app
          args: [c]
          env: [{ name: B, value: "3" }, { name: C, value: "4" }]
`,
      'overlay/scaled.patch.yaml': `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: app }
spec:
  triggers: [{ type: memory }]
  maxReplicaCount: null
`,
    });
    const [deployment, scaled] = renderKustomization(path.join(root, 'overlay')).map((m) => m.value) as [
      IDeployment,
      { spec: unknown },
    ];
    expect(deployment.metadata?.namespace).toBe('ns');
    const [app, sidecar] = deployment.spec!.template.spec!.containers as [IContainer, IContainer];
    // Containers and env merge by name; args (no merge key) is replaced.
    expect(app.image).toBe('example/app:2');
    expect(app.args).toEqual(['c']);
    expect(app.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ]);
    expect(app.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(sidecar.image).toBe('registry.local:5000/side@sha256:abc');
    expect(deployment.spec!.template.spec!.initContainers![0]!.image).toBe('other/init:v9');
    // Custom resources get a JSON merge patch: lists replaced, null deletes.
    expect(scaled.spec).toEqual({ triggers: [{ type: 'memory' }] });
  });

  it('refuses fields outside the subset instead of ignoring them', () => {
    const root = tree({ 'kustomization.yaml': `${KUSTOMIZATION}resources: []\ncommonLabels: { a: b }\n` });
    expect(() => renderKustomization(root)).toThrow(/commonLabels/);
  });

  it('refuses a patch that matches no resource, and duplicate resources', () => {
    const noMatch = tree({
      'kustomization.yaml': `${KUSTOMIZATION}resources: [app.yaml]\npatches: [{ path: p.yaml }]\n`,
      'app.yaml': DEPLOYMENT,
      'p.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: other }\n',
    });
    expect(() => renderKustomization(noMatch)).toThrow(/matched 0/);
    const duplicate = tree({
      'kustomization.yaml': `${KUSTOMIZATION}resources: [app.yaml, app.yaml]\n`,
      'app.yaml': DEPLOYMENT,
    });
    expect(() => renderKustomization(duplicate)).toThrow(DeployCheckError);
  });

  it('splits image references with registry ports, tags and digests', () => {
    expect(splitImage('host:5000/a/b:1.2')).toEqual({ name: 'host:5000/a/b', tag: '1.2' });
    expect(splitImage('host:5000/a/b')).toEqual({ name: 'host:5000/a/b' });
    expect(splitImage('a@sha256:1')).toEqual({ name: 'a', digest: 'sha256:1' });
  });
});
