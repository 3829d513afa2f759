import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const docsPath = (name: string) => fileURLToPath(new URL(`../../../../../docs/api/${name}`, import.meta.url));
const BASE = 'https://calltx.test/docs/api/';

export const OPENAPI_PATH = docsPath('openapi.yaml');
export const openapiDocument = parse(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDocument;
const asyncapiDocument = parse(readFileSync(docsPath('asyncapi.yaml'), 'utf8')) as Record<string, unknown>;

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, ResponseObject>; schemas: Record<string, unknown> };
}
interface Operation {
  responses: Record<string, ResponseObject | { $ref: string }>;
  'x-event-data'?: { $ref: string };
}
interface ResponseObject {
  content?: Record<string, { schema: unknown }>;
}

// Both documents as one schema set: openapi.yaml's event schemas point into asyncapi.yaml.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ ...openapiDocument, $id: `${BASE}openapi.yaml` });
ajv.addSchema({ ...asyncapiDocument, $id: `${BASE}asyncapi.yaml` });

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function compiled(ref: string): ValidateFunction {
  const validate = ajv.getSchema(`${BASE}openapi.yaml#/${ref}`);
  if (!validate) throw new Error(`openapi.yaml has no schema at ${ref}`);
  return validate;
}

/**
 * Checks a real response against what openapi.yaml documents for that operation and status: the status must be
 * documented, and a JSON body must match its schema. Returns the problems (none when it matches).
 */
export function responseProblems(
  method: string,
  pathTemplate: string,
  status: number,
  body: unknown,
): string[] {
  const operation = openapiDocument.paths[pathTemplate]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${pathTemplate} is not documented`];
  let response = operation.responses[String(status)];
  if (!response) return [`${method} ${pathTemplate} does not document status ${status}`];
  let location = pointer('paths', pathTemplate, method.toLowerCase(), 'responses', String(status));
  if ('$ref' in response) {
    const name = response.$ref.replace('#/components/responses/', '');
    response = openapiDocument.components.responses[name]!;
    location = pointer('components', 'responses', name);
  }
  const json = (response as ResponseObject).content?.['application/json'];
  if (!json) return [];
  const validate = compiled(`${location}/content/application~1json/schema`);
  return validate(body)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}`);
}

/** Checks the `data` of a Server-Sent Event against the operation's `x-event-data` schema. */
export function eventDataProblems(pathTemplate: string, data: unknown): string[] {
  const validate = compiled(pointer('paths', pathTemplate, 'get', 'x-event-data'));
  return validate(data)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '(data)'} ${e.message}`);
}
