import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVICES } from '../testing/contracts.js';
import { foreignQueries, sourceFiles, tableOwners, type SourceFile } from './tables.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

describe('table ownership', () => {
  let files: Record<string, SourceFile[]>;
  beforeAll(async () => {
    files = Object.fromEntries(
      await Promise.all(
        SERVICES.map(
          async (service) => [service, await sourceFiles(ROOT, `services/${service}/src`)] as const,
        ),
      ),
    );
  });

  it('gives every table one owner: the service whose migrations create it', () => {
    const owners = tableOwners(files);
    expect([...owners.entries()].filter(([, services]) => services.length > 1)).toEqual([]);
    // The scan finds what it must: without this, an empty map would let everything pass.
    expect(owners.get('calls')).toEqual(['stream-ingest']);
    expect(owners.get('recordings')).toEqual(['recording-fetcher']);
    expect(owners.get('transcript_segments')).toEqual(['transcriber']);
    expect(owners.get('call_settings')).toEqual(['transcriber']);
    expect(owners.get('api_calls')).toEqual(['api']);
  });

  it('finds no service whose source (tests included) queries a table another service owns', () => {
    expect(foreignQueries(files, tableOwners(files))).toEqual([]);
  });

  it('catches a query of another service’s table', () => {
    const owners = tableOwners(files);
    const sql = {
      path: 'services/api/src/x.ts',
      text: 'SELECT status FROM recordings r JOIN calls USING (call_sid)',
    };
    expect(foreignQueries({ api: [sql] }, owners).map(({ table, owner }) => [table, owner])).toEqual([
      ['recordings', 'recording-fetcher'],
      ['calls', 'stream-ingest'],
    ]);
  });
});
