import { describe, expect, it } from 'vitest';
import { loadComposeFile } from '../compose/load.js';
import type { Manifest } from '../kustomize/render.js';
import { ENTRY_VARIABLES, serviceEntry, SERVICES } from '../testing/contracts.js';
import { COMPOSE_FILE, find, OVERLAYS, renderOverlay } from '../testing/fixtures.js';
import { firstContainer } from '../testing/types.js';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { checkWorkloadEnv, requiredVariables } from './check.js';
import { composeWorkloads, kubernetesWorkloads } from './workloads.js';

const COMPOSE_ENTRIES = Object.fromEntries(SERVICES.map((s) => [s, serviceEntry(s)]));

describe('environment variables match the config schema (each service’s variable table)', () => {
  it.each(OVERLAYS)(
    'Kubernetes overlay %s: every workload gets what it requires, nothing unknown, valid values, secrets from Secrets',
    (overlay) => {
      const workloads = kubernetesWorkloads(renderOverlay(overlay));
      expect(workloads.map((w) => w.entry).sort()).toEqual(
        [
          ...SERVICES.map(serviceEntry),
          'services/stream-ingest/dist/migrate.js',
          'services/recording-fetcher/dist/migrate.js',
          'services/api/dist/migrate.js',
          'tools/model-fetch/dist/cli.js',
        ].sort(),
      );
      expect(
        checkWorkloadEnv(workloads, { variablesByEntry: ENTRY_VARIABLES, secretsFromSecretRefs: true }),
      ).toEqual([]);
    },
  );

  it('docker-compose: every service gets what it requires, nothing unknown, valid values', () => {
    const { services } = loadComposeFile(COMPOSE_FILE);
    const workloads = composeWorkloads(services, COMPOSE_ENTRIES);
    expect(workloads.map((w) => w.entry).sort()).toEqual(SERVICES.map(serviceEntry).sort());
    expect(
      checkWorkloadEnv(workloads, { variablesByEntry: ENTRY_VARIABLES, secretsFromSecretRefs: false }),
    ).toEqual([]);
  });

  it('fails when the manifests drift from the schema', () => {
    const manifests: Manifest[] = renderOverlay('prod').map((m) => ({
      ...m,
      value: structuredClone(m.value),
    }));
    const env = (name: string): IEnvVar[] =>
      firstContainer(find<IDeployment>(manifests, 'Deployment', name)).env!;
    const named = (list: IEnvVar[], name: string): IEnvVar => list.find((e) => e.name === name)!;
    const gateway = env('gateway');
    gateway.splice(
      gateway.findIndex((e) => e.name === 'PUBLIC_BASE_URL'),
      1,
    );
    gateway.push(
      { name: 'PUBLIC_BASE_URI', value: 'https://x.example.com' },
      { name: 'WHISPER_MODEL_DIR', value: '/models/whisper-tiny.en' },
    );
    named(gateway, 'TWILIO_AUTH_TOKEN').valueFrom = {
      configMapKeyRef: { name: 'calltx-config', key: 'LOG_LEVEL' },
    };
    named(env('recording-fetcher'), 'SHUTDOWN_GRACE_MS').value = 'soon';
    env('stream-ingest').push({ name: 'NATS_URL', value: 'nats://x:4222' });
    find<{ data: Record<string, string> }>(manifests, 'ConfigMap', 'calltx-config').data['S3_ENDPOINT'] =
      'minio:9000';
    const problems = checkWorkloadEnv(kubernetesWorkloads(manifests), {
      variablesByEntry: ENTRY_VARIABLES,
      secretsFromSecretRefs: true,
    });
    const text = problems.join('\n');
    expect(text).toMatch(/gateway.*PUBLIC_BASE_URL is required/);
    expect(text).toMatch(/gateway.*PUBLIC_BASE_URI is not a variable of the system/);
    expect(text).toMatch(
      /gateway.*WHISPER_MODEL_DIR is set but services\/gateway\/dist\/main.js doesn't read it/,
    );
    expect(text).toMatch(/gateway.*TWILIO_AUTH_TOKEN is secret: take it from a secretKeyRef/);
    expect(text).toMatch(/TWILIO_AUTH_TOKEN=\(secret value\) is invalid/);
    expect(text).toMatch(/recording-fetcher.*SHUTDOWN_GRACE_MS="soon" is invalid/);
    expect(text).toMatch(/stream-ingest.*NATS_URL is set twice/);
    expect(text).toMatch(/S3_ENDPOINT="minio:9000" is invalid/);
  });

  it('knows which variables are required: the ones without a default', () => {
    const api = ENTRY_VARIABLES[serviceEntry('api')]!;
    const names = ['PORT', 'DATABASE_URL', 'NATS_URL', 'TWILIO_ACCOUNT_SID'];
    expect(requiredVariables(Object.fromEntries(names.map((name) => [name, api[name]!])))).toEqual([
      'DATABASE_URL',
      'TWILIO_ACCOUNT_SID',
    ]);
  });
});
