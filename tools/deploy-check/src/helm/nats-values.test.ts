import { describe, expect, it } from 'vitest';
import { repoPath } from '../repo.js';
import { configData, find, renderOverlay } from '../testing/fixtures.js';
import { loadYamlObject } from '../yaml/load.js';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';

/** The chart values the tests read. */
interface NatsValues {
  config: {
    cluster: { enabled: boolean; replicas?: number };
    jetstream: {
      enabled: boolean;
      fileStore: { enabled: boolean; pvc: { enabled: boolean; size: string } };
      memoryStore: { enabled: boolean };
      merge: Record<string, unknown>;
    };
    monitor: { enabled: boolean; port: number };
    nats?: { tls: { enabled: boolean; secretName?: string; merge?: Record<string, unknown> } };
  };
  tlsCA?: { enabled: boolean; secretName?: string; key?: string };
  container: { image: { tag: string } };
  podTemplate: { topologySpreadConstraints: Record<string, { whenUnsatisfiable: string }> };
}

const values = loadYamlObject(repoPath('deploy/helm/nats/values.yaml')) as unknown as NatsValues;
const dev = loadYamlObject(repoPath('deploy/helm/nats/values-dev.yaml')) as unknown as NatsValues;

describe('NATS Helm values (official chart 1.x)', () => {
  it('runs a three-server JetStream cluster on persistent volumes, one server per node', () => {
    expect(values.config.cluster).toEqual({ enabled: true, replicas: 3 });
    expect(values.config.jetstream.enabled).toBe(true);
    expect(values.config.jetstream.fileStore).toMatchObject({ enabled: true, pvc: { enabled: true } });
    expect(values.config.jetstream.memoryStore.enabled).toBe(false);
    expect(values.podTemplate.topologySpreadConstraints['kubernetes.io/hostname']?.whenUnsatisfiable).toBe(
      'DoNotSchedule',
    );
  });

  it('bounds the unsynced window explicitly (sync_interval), instead of the 2-minute default', () => {
    const sync = String(values.config.jetstream.merge['sync_interval']);
    expect(sync === 'always' || /^\d+(ms|s)$/.test(sync)).toBe(true);
  });

  it('pins a server version past the 2.10.22 crash-loss bug', () => {
    const [major, minor] = String(values.container.image.tag).split(/[.-]/).map(Number) as [number, number];
    expect(major > 2 || (major === 2 && minor >= 11)).toBe(true);
  });

  it('exposes monitoring on the port KEDA reads, and clients on the address the services use', () => {
    expect(values.config.monitor).toEqual({ enabled: true, port: 8222 });
    const manifests = renderOverlay('prod');
    const trigger = find<IScaledObject>(manifests, 'ScaledObject', 'transcriber').spec.triggers[0];
    expect(trigger?.metadata['natsServerMonitoringEndpoint']).toBe(
      `nats-headless.nats.svc.cluster.local:${values.config.monitor.port}`,
    );
    expect(configData(manifests)['NATS_URL']).toBe('tls://nats.nats.svc.cluster.local:4222');
    expect(configData(renderOverlay('dev'))['NATS_URL']).toBe('nats://nats.nats.svc.cluster.local:4222');
  });

  it('takes clients over TLS only, with certificates from the CA the services trust (dev: plaintext)', () => {
    expect(values.config.nats?.tls).toMatchObject({ enabled: true, merge: { verify: true } });
    expect(values.tlsCA).toMatchObject({ enabled: true, key: 'ca.crt' });
    expect(dev.config.nats?.tls.enabled).toBe(false);
    expect(dev.tlsCA?.enabled).toBe(false);
  });

  it('the dev override shrinks it to one server', () => {
    expect(dev.config.cluster.enabled).toBe(false);
    expect(dev.config.jetstream.fileStore.pvc.size).toBeDefined();
  });
});
