import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { DeployCheckError } from '../errors.js';

export type YamlObject = Record<string, unknown>;

export interface YamlDocument {
  file: string;
  /** Position of the document in a multi-document file. */
  index: number;
  value: YamlObject;
}

/**
 * Every document of a YAML file as plain data. Parse errors and warnings (duplicate keys, bad aliases) fail:
 * kubectl and docker compose reject those too. Merge keys (`<<`) are resolved, as Compose does.
 */
export function loadYamlDocuments(file: string): YamlDocument[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'), {
    merge: true,
    uniqueKeys: true,
    prettyErrors: true,
  });
  const list = Array.isArray(documents) ? documents : [documents];
  const problems = list.flatMap((doc) =>
    [...doc.errors, ...doc.warnings].map((e) => `${file}: ${e.message}`),
  );
  if (problems.length > 0) throw new DeployCheckError('YAML does not parse', problems);
  return list
    .map((doc, index) => ({ file, index, value: doc.toJS({ maxAliasCount: 1000 }) as unknown }))
    .filter((doc): doc is YamlDocument => doc.value !== null && doc.value !== undefined)
    .map((doc) => {
      if (!isObject(doc.value)) throw new DeployCheckError(`${file} document ${doc.index} is not a mapping`);
      return doc;
    });
}

export function loadYamlObject(file: string): YamlObject {
  const documents = loadYamlDocuments(file);
  if (documents.length !== 1) throw new DeployCheckError(`${file} must hold exactly one YAML document`);
  return documents[0]!.value;
}

export const isObject = (value: unknown): value is YamlObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
