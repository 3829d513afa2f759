import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { repoPath } from '../repo.js';

/** Custom resources validated by the vendored subset schemas (see ../../schemas/README.md for their sources). */
const SCHEMA_FILES: Record<string, string> = {
  'postgresql.cnpg.io/v1 Cluster': 'cnpg-cluster.schema.json',
  'postgresql.cnpg.io/v1 ScheduledBackup': 'cnpg-scheduledbackup.schema.json',
  'barmancloud.cnpg.io/v1 ObjectStore': 'barman-objectstore.schema.json',
  'minio.min.io/v2 Tenant': 'minio-tenant.schema.json',
};

let validators: Map<string, ValidateFunction> | undefined;

export function crdValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  validators ??= compile();
  return validators.get(`${apiVersion} ${kind}`);
}

function compile(): Map<string, ValidateFunction> {
  const read = (file: string): object =>
    JSON.parse(readFileSync(repoPath('tools/deploy-check/schemas', file), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addSchema(read('k8s-common.schema.json'));
  return new Map(Object.entries(SCHEMA_FILES).map(([id, file]) => [id, ajv.compile(read(file))]));
}
