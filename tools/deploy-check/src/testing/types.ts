import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';

/** The fields of the operators' resources the tests read (their schemas are in ../../schemas). */
export interface CnpgCluster {
  spec: {
    instances: number;
    bootstrap: { initdb: { database: string; owner: string } };
    postgresql?: { synchronous?: { method: string; number: number } };
    plugins?: { name: string; isWALArchiver?: boolean; parameters: Record<string, string> }[];
  };
}
export interface ObjectStore {
  spec: { retentionPolicy?: string; configuration: { wal?: { compression?: string } } };
}
export interface ScheduledBackup {
  spec: { cluster: { name: string }; method: string; pluginConfiguration: { name: string } };
}
export interface MinioTenant {
  spec: {
    users: { name: string }[];
    buckets: { name: string }[];
    pools: { servers: number; volumesPerServer: number }[];
  };
}

export function podSpec(workload: IDeployment | IJob): IPodSpec {
  const spec = workload.spec?.template.spec;
  if (!spec) throw new Error(`${workload.metadata?.name ?? '?'} has no pod spec`);
  return spec;
}

export const allContainers = (spec: IPodSpec): IContainer[] => [
  ...(spec.initContainers ?? []),
  ...spec.containers,
];

export function firstContainer(workload: IDeployment | IJob): IContainer {
  const container = podSpec(workload).containers[0];
  if (!container) throw new Error(`${workload.metadata?.name ?? '?'} has no container`);
  return container;
}

/** A docker-compose service, as far as the tests read it (a missing field fails the test that reads it). */
export interface ComposeService {
  build: { target: string };
  command: string[];
  entrypoint: string[];
  environment: Record<string, string>;
  depends_on: Record<string, { condition: string }>;
  healthcheck: { test: string[] };
  volumes: string[];
  profiles: string[];
  network_mode: string;
  stop_grace_period: string;
}

export const asComposeServices = (services: Record<string, unknown>): Record<string, ComposeService> =>
  services as unknown as Record<string, ComposeService>;
