import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUrlForTests } from '@calltx/devstack';
import { eventsTestBed, newCallSid, transcript, type EventsTestBed } from './testing/events.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = ['packages/events', 'packages/events-client'];
/** What the services need and a consumer of the public events must never get. */
const SERVER_ONLY = ['express', 'minio', 'pg', 'pino', 'prom-client'];

// A consumer outside the monorepo, as the README shows it: nothing but the installed packages.
const CONSUMER = `import { connect } from '@nats-io/transport-node';
import { EventsClient } from '@calltx/events-client';

const [callSid] = process.argv.slice(2);
const nc = await connect({ servers: process.env.NATS_URL.split(',') });
const client = new EventsClient(nc, { subjectPrefix: process.env.NATS_SUBJECT_PREFIX });
const subscription = await client.transcripts({ callSid, kind: 'final', startAt: 'start' });
for await (const { sequence, event } of subscription) {
  console.log(JSON.stringify({ sequence, event }));
  break;
}
await subscription.close();
await nc.drain();
`;

interface NpmTree {
  dependencies?: Record<string, NpmTree>;
}
function namesIn(tree: NpmTree): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([name, sub]) => [name, ...namesIn(sub)]);
}

describe('the published packages, installed with npm outside the workspace', () => {
  let bed: EventsTestBed;
  let dir: string;

  beforeAll(async () => {
    bed = await eventsTestBed();
    dir = await mkdtemp(path.join(tmpdir(), 'calltx-events-install-'));
    // Pack what the sources build to now, as `pnpm publish` would (it rewrites workspace: ranges).
    await run('pnpm', ['exec', 'tsc', '-b', ...PACKAGES], { cwd: REPO_ROOT });
    for (const pkg of PACKAGES)
      await run('pnpm', ['pack', '--pack-destination', dir], { cwd: path.join(REPO_ROOT, pkg) });
    const tarballs = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
    expect(tarballs).toHaveLength(PACKAGES.length);
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs.map((t) => `./${t}`)],
      {
        cwd: dir,
      },
    );
  }, 90_000);
  afterAll(async () => {
    await bed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('brings the contract and the NATS client, and none of the services’ dependencies', async () => {
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--json'], { cwd: dir });
    const installed = new Set(namesIn(JSON.parse(stdout) as NpmTree));
    expect(installed).toContain('@calltx/events-client');
    expect(installed).toContain('@calltx/events');
    expect(installed).toContain('@nats-io/jetstream');
    expect(SERVER_ONLY.filter((name) => installed.has(name))).toEqual([]);
    expect([...installed].filter((name) => name.startsWith('@calltx/')).sort()).toEqual([
      '@calltx/events',
      '@calltx/events-client',
    ]);
  });

  it('lets a 20-line consumer receive a transcript final from the running system', async () => {
    const callSid = newCallSid();
    const final = transcript({
      callSid,
      speaker: 'agent',
      sequence: 0,
      text: 'Hello, this is support.',
      final: true,
    });
    const sequence = await bed.publishTranscript(final);
    await writeFile(path.join(dir, 'consumer.mjs'), CONSUMER);
    expect(CONSUMER.trim().split('\n').length).toBeLessThanOrEqual(20);

    const { stdout } = await run(process.execPath, ['consumer.mjs', callSid], {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        NATS_URL: natsUrlForTests(),
        NATS_SUBJECT_PREFIX: bed.subjects.prefix,
      },
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual({ sequence, event: final });
  });
});
