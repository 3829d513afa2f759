import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Subjects } from '@calltx/events';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { describe, expect, it } from 'vitest';
import { renderKustomization, type Manifest } from '../kustomize/render.js';
import { repoPath } from '../repo.js';
import { configData, find, K8S_DIR, ofKind, OVERLAYS, renderOverlay } from '../testing/fixtures.js';
import {
  allContainers,
  firstContainer,
  podSpec,
  type CnpgCluster,
  type MinioTenant,
  type ObjectStore,
  type ScheduledBackup,
} from '../testing/types.js';
import { loadYamlDocuments } from '../yaml/load.js';
import { validateManifests } from './validate.js';

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? yamlFiles(file) : /\.ya?ml$/.test(name) ? [file] : [];
  });

const clone = (manifests: Manifest[]): Manifest[] =>
  manifests.map((m) => ({ ...m, value: structuredClone(m.value) }));

describe('Kubernetes manifests', () => {
  it('every YAML file under deploy/k8s parses', () => {
    const files = yamlFiles(K8S_DIR);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(loadYamlDocuments(file).length, file).toBeGreaterThan(0);
  });

  it.each(['base', 'overlays/dev', 'overlays/prod'])(
    '%s renders and validates against the Kubernetes, KEDA, CNPG and MinIO schemas',
    async (dir) => {
      const manifests = renderKustomization(repoPath('deploy/k8s', dir));
      expect(await validateManifests(manifests)).toEqual([]);
    },
  );

  it('the validation catches unknown fields, wrong types and missing fields in every kind of resource', async () => {
    const manifests = clone(renderOverlay('prod'));
    const gateway = firstContainer(find<IDeployment>(manifests, 'Deployment', 'gateway'));
    Object.assign(gateway, { readinessProbes: gateway.readinessProbe });
    const ingress = find<IIngress>(manifests, 'Ingress', 'gateway');
    Object.assign(ingress.spec!.rules![0]!.http!.paths[0]!, { pathType: 'Anything' });
    Object.assign(find<IScaledObject>(manifests, 'ScaledObject', 'transcriber').spec, {
      pollingIntervall: 5,
    });
    Reflect.deleteProperty(firstContainer(find<IJob>(manifests, 'Job', 'calltx-migrate')), 'name');
    Object.assign(find<CnpgCluster>(manifests, 'Cluster', 'calltx-pg').spec, { instance: 3 });
    Object.assign(find<MinioTenant>(manifests, 'Tenant', 'calltx-minio').spec.pools[0]!, { servers: '4' });
    Object.assign(find<ObjectStore>(manifests, 'ObjectStore', 'calltx-pg-backup').spec.configuration.wal!, {
      compression: 'rar',
    });
    manifests.push({
      source: 'test',
      value: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    });
    const problems = (await validateManifests(manifests)).join('\n');
    expect(problems).toMatch(/readinessProbes/);
    expect(problems).toMatch(/pathType/);
    expect(problems).toMatch(/pollingIntervall/);
    expect(problems).toMatch(/migrate-job.*name/);
    expect(problems).toMatch(/postgres\.yaml.*instance/);
    expect(problems).toMatch(/minio-tenant\.yaml.*servers/);
    expect(problems).toMatch(/postgres-backup\.yaml.*compression/);
    expect(problems).toMatch(/no schema for example\.com\/v1 Widget/);
  });
});

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const manifests = renderOverlay(overlay);
  const deployments = ofKind<IDeployment>(manifests, 'Deployment');
  const workloads = [...deployments, ...ofKind<IJob>(manifests, 'Job')];
  const config = configData(manifests);

  it('puts everything in one namespace and rewrites every image to a registry and tag', () => {
    const namespaces = new Set(
      manifests.map((m) => (m.value['metadata'] as { namespace?: string }).namespace),
    );
    expect([...namespaces]).toEqual([overlay === 'prod' ? 'calltx' : 'calltx-dev']);
    for (const workload of workloads) {
      for (const c of allContainers(podSpec(workload)))
        expect(c.image).toMatch(/^registry\.example\.com\/calltx\/[a-z-]+:\S+$/);
    }
  });

  it('runs every container unprivileged, read-only, with resources and a writable /tmp', () => {
    for (const workload of workloads) {
      const spec = podSpec(workload);
      expect(spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of allContainers(spec)) {
        expect(c.securityContext, c.name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(
          c.resources?.requests?.['cpu'] && c.resources.requests['memory'] && c.resources.limits?.['memory'],
          c.name,
        ).toBeTruthy();
      }
    }
    for (const deployment of deployments) {
      const spec = podSpec(deployment);
      expect(spec.volumes?.find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
      for (const c of spec.containers)
        expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
  });

  it('probes each service: startup and liveness on /healthz, readiness on /readyz, on the named http port', () => {
    for (const deployment of deployments) {
      const container = firstContainer(deployment);
      expect(container.ports).toContainEqual({ name: 'http', containerPort: 8080 });
      expect(container.env).toContainEqual({ name: 'PORT', value: '8080' });
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    }
  });

  it('gives each pod time to finish: grace period ≥ preStop + SHUTDOWN_GRACE_MS + 5 s', () => {
    for (const deployment of deployments) {
      const container = firstContainer(deployment);
      const graceMs = Number(container.env?.find((e) => e.name === 'SHUTDOWN_GRACE_MS')?.value);
      expect(graceMs, container.name).toBeGreaterThan(0);
      const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
      const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      expect(podSpec(deployment).terminationGracePeriodSeconds, container.name).toBeGreaterThanOrEqual(
        preStopSeconds + graceMs / 1000 + 5,
      );
    }
    // The gateway drains from the Ingress before it stops taking connections.
    const gateway = firstContainer(find<IDeployment>(manifests, 'Deployment', 'gateway'));
    expect(gateway.lifecycle?.preStop?.exec?.command).toEqual(['sleep', '10']);
  });

  it('covers every Deployment with a PodDisruptionBudget and a Service selecting its pods', () => {
    for (const deployment of deployments) {
      const labels = deployment.spec?.template.metadata?.labels ?? {};
      const matches = (selector: Record<string, string> = {}) =>
        Object.entries(selector).every(([k, v]) => labels[k] === v);
      expect(
        ofKind<IPodDisruptionBudget>(manifests, 'PodDisruptionBudget').some((p) =>
          matches(p.spec?.selector?.matchLabels),
        ),
      ).toBe(true);
      expect(ofKind<IService>(manifests, 'Service').some((s) => matches(s.spec?.selector))).toBe(true);
      expect(deployment.spec?.selector.matchLabels).toEqual({
        'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
      });
    }
  });

  it('routes Twilio to the gateway and the API and console to the api on PUBLIC_BASE_URL’s host, over TLS, with long-connection timeouts', () => {
    const publicUrl = new URL(config['PUBLIC_BASE_URL']!);
    expect(publicUrl.protocol).toBe('https:');
    const ingress = find<IIngress>(manifests, 'Ingress', 'gateway');
    expect(ingress.spec?.rules?.map((r) => r.host)).toEqual([publicUrl.host]);
    expect(ingress.spec?.tls?.[0]?.hosts).toEqual([publicUrl.host]);
    const route = (path: string, service: string) => ({
      path,
      pathType: 'Prefix',
      backend: { service: { name: service, port: { name: 'http' } } },
    });
    expect(ingress.spec?.rules?.[0]?.http?.paths).toEqual([
      route('/twilio', 'gateway'),
      route('/api', 'api'),
      route('/console', 'api'),
    ]);
    const annotations = ingress.metadata?.annotations ?? {};
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(
      3600,
    );
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(
      3600,
    );
    expect(annotations['nginx.ingress.kubernetes.io/proxy-http-version']).toBe('1.1');
  });

  it('autoscales the gateway and the api on CPU and leaves replicas of autoscaled Deployments to the autoscalers', () => {
    for (const name of ['gateway', 'api']) {
      const hpa = find<IHorizontalPodAutoscaler>(manifests, 'HorizontalPodAutoscaler', name);
      expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa.spec?.metrics).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ]);
      expect(hpa.spec?.minReplicas).toBeLessThanOrEqual(hpa.spec!.maxReplicas);
      expect(find<IDeployment>(manifests, 'Deployment', name).spec?.replicas).toBeUndefined();
    }
    expect(find<IDeployment>(manifests, 'Deployment', 'transcriber').spec?.replicas).toBeUndefined();
  });

  it('scales the transcriber with KEDA on the lag of its final-segment consumer, with the documented trigger fields', () => {
    const scaled = find<IScaledObject>(manifests, 'ScaledObject', 'transcriber');
    expect(scaled.spec.scaleTargetRef).toEqual({ name: 'transcriber' });
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(scaled.spec.triggers).toHaveLength(1);
    const trigger = scaled.spec.triggers[0]!;
    expect(trigger.type).toBe('nats-jetstream');
    // The scaler's parameters (keda.sh/docs/scalers/nats-jetstream): KEDA ignores anything else.
    const documented = [
      'natsServerMonitoringEndpoint',
      'account',
      'stream',
      'consumer',
      'lagThreshold',
      'activationLagThreshold',
      'useHttps',
    ];
    expect(Object.keys(trigger.metadata).filter((k) => !documented.includes(k))).toEqual([]);
    expect(trigger.metadata['stream']).toBe(
      new Subjects(config['NATS_SUBJECT_PREFIX'] ?? '').streamName('audio'),
    );
    expect(trigger.metadata['consumer']).toBe('transcriber-final');
    expect(trigger.metadata['account']).toBe('$G');
    expect(trigger.metadata['natsServerMonitoringEndpoint']).toBe(
      'nats-headless.nats.svc.cluster.local:8222',
    );
    expect(Number(trigger.metadata['lagThreshold'])).toBeGreaterThan(0);
  });

  it('downloads the Whisper model into the volume the transcriber reads, at the path WHISPER_MODEL_DIR names', () => {
    const spec = podSpec(find<IDeployment>(manifests, 'Deployment', 'transcriber'));
    const init = spec.initContainers?.[0];
    const [model, flag, dir] = init?.args ?? [];
    expect(flag).toBe('--dir');
    const transcriber = spec.containers[0]!;
    // model-fetch writes <dir>/whisper-<model>.
    expect(transcriber.env).toContainEqual({ name: 'WHISPER_MODEL_DIR', value: `${dir}/whisper-${model}` });
    expect(init?.volumeMounts).toContainEqual({ name: 'models', mountPath: dir });
    expect(transcriber.volumeMounts).toContainEqual({ name: 'models', mountPath: dir, readOnly: true });
    expect(model).toBe(overlay === 'prod' ? 'base.en' : 'tiny.en');
    // The graphs fetched are the ones the transcriber loads.
    const quantized =
      transcriber.env?.some((e) => e.name === 'WHISPER_QUANTIZED' && e.value === 'true') ?? false;
    expect(init?.args?.includes('--quantized')).toBe(quantized);
  });

  it('wires the operators’ resources to what the services read: CNPG app Secret, MinIO user Secret and bucket', () => {
    const cluster = find<CnpgCluster>(manifests, 'Cluster', 'calltx-pg');
    const tenant = find<MinioTenant>(manifests, 'Tenant', 'calltx-minio');
    const env = workloads.flatMap((w) => allContainers(podSpec(w)).flatMap((c) => c.env ?? []));
    for (const e of env.filter((e) => e.name === 'DATABASE_URL'))
      expect(e.valueFrom?.secretKeyRef).toEqual({ name: 'calltx-pg-app', key: 'uri' });
    for (const e of env.filter((e) => e.name === 'S3_ACCESS_KEY' || e.name === 'S3_SECRET_KEY')) {
      expect(tenant.spec.users).toContainEqual({ name: e.valueFrom?.secretKeyRef?.name });
      expect(e.valueFrom?.secretKeyRef?.key).toMatch(/^CONSOLE_(ACCESS|SECRET)_KEY$/);
    }
    expect(cluster.spec.bootstrap.initdb).toMatchObject({ database: 'calltx', owner: 'calltx' });
    expect(tenant.spec.buckets).toContainEqual({ name: config['S3_BUCKET'] });
    for (const pool of tenant.spec.pools)
      expect(pool.servers * pool.volumesPerServer).toBeGreaterThanOrEqual(4);
  });
});

describe('prod durability', () => {
  const manifests = renderOverlay('prod');

  it('runs three Postgres instances with a synchronous standby and WAL archiving to the backup ObjectStore', () => {
    const cluster = find<CnpgCluster>(manifests, 'Cluster', 'calltx-pg');
    expect(cluster.spec.instances).toBe(3);
    expect(cluster.spec.postgresql?.synchronous).toMatchObject({ method: 'any', number: 1 });
    expect(cluster.spec.plugins).toHaveLength(1);
    const plugin = cluster.spec.plugins![0]!;
    expect(plugin).toMatchObject({ name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true });
    const store = find<ObjectStore>(manifests, 'ObjectStore', plugin.parameters['barmanObjectName']!);
    expect(store.spec.retentionPolicy).toBeDefined();
    const backup = find<ScheduledBackup>(manifests, 'ScheduledBackup', 'calltx-pg-nightly');
    expect(backup.spec).toMatchObject({
      cluster: { name: 'calltx-pg' },
      method: 'plugin',
      pluginConfiguration: { name: plugin.name },
    });
  });

  it('spreads MinIO over four servers and keeps at least three gateways', () => {
    expect(
      find<MinioTenant>(manifests, 'Tenant', 'calltx-minio').spec.pools[0]!.servers,
    ).toBeGreaterThanOrEqual(4);
    expect(
      find<IHorizontalPodAutoscaler>(manifests, 'HorizontalPodAutoscaler', 'gateway').spec?.minReplicas,
    ).toBeGreaterThanOrEqual(3);
  });
});
