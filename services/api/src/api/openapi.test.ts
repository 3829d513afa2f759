import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, getJson, newSid, startApi, type ApiHarness } from './testing/api-harness.js';
import { OPENAPI_PATH, openapiDocument, responseProblems } from './testing/openapi.js';
import { seedCall } from './testing/seed.js';

describe('docs/api/openapi.yaml', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(() => h.close());

  it('is a valid OpenAPI 3.1 document, its references into asyncapi.yaml included', async () => {
    await expect(SwaggerParser.validate(OPENAPI_PATH)).resolves.toMatchObject({ openapi: '3.1.0' });
  });

  it('documents only operations the api serves, each answering with a documented status and body', async () => {
    const sid = newSid('CA');
    await seedCall(h, { callSid: sid, startedAt: new Date().toISOString() });
    const examplePath = (template: string) => template.replace('{callSid}', sid);
    const operations = Object.entries(openapiDocument.paths).flatMap(([template, methods]) =>
      Object.keys(methods).map((method) => ({ template, method: method.toUpperCase() })),
    );
    expect(operations.length).toBeGreaterThan(5);
    for (const { template, method } of operations) {
      // Event streams stay open: they are cut after a moment, their 200 and headers being what counts.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 300);
      const response = await getJson(
        h.baseUrl,
        examplePath(template),
        { apiKey: KEYS.reader },
        {
          method,
          signal: abort.signal,
          ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
        },
      );
      clearTimeout(timer);
      expect(response.status, `${method} ${template}`).not.toBe(404);
      expect(
        responseProblems(method, template, response.status, response.json),
        `${method} ${template}`,
      ).toEqual([]);
    }
  });
});
