import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadComposeFile } from '../compose/load.js';
import { ENTRY_VARIABLES, serviceEntry, SERVICES } from '../testing/contracts.js';
import { COMPOSE_FILE, DOCKERFILE, find, ofKind, renderOverlay } from '../testing/fixtures.js';
import { allContainers, asComposeServices, firstContainer, podSpec } from '../testing/types.js';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { requiredVariables } from '../env/check.js';
import { deployPackage, runEntry } from './deploy-package.js';
import { imageConfig, nodeCommand, nodeMajor, parseDockerfile, type ImageConfig } from './dockerfile.js';

const stages = parseDockerfile(DOCKERFILE);
const TARGETS = [...SERVICES, 'model-fetch', 'sim'] as const;
const config = (target: string): ImageConfig => imageConfig(stages, target);

/** The package an image holds: the one COPY from the build stage, /out/<dir> → /app/<dir>. */
function packageOf(image: ImageConfig): { dir: string; destination: string } {
  const copies = image.copies.filter((c) => c.from === 'build');
  expect(copies, image.target).toHaveLength(1);
  const { source, destination } = copies[0]!;
  expect(source.startsWith('/out/'), source).toBe(true);
  return { dir: source.slice('/out/'.length), destination };
}

/** The script the image runs with node, and where it sits relative to the deployed package folder. */
function entryOf(image: ImageConfig): { script: string; insidePackage: string } {
  const node = nodeCommand([...image.entrypoint, ...image.cmd]);
  expect(node, image.target).toBeDefined();
  const script = node!.script;
  const absolute = path.posix.join(image.workdir, script);
  const { destination } = packageOf(image);
  expect(absolute.startsWith(`${destination}/`), `${absolute} is outside ${destination}`).toBe(true);
  return { script, insidePackage: path.posix.relative(destination, absolute) };
}

describe('deploy/docker/Dockerfile', () => {
  it('builds every stage on an official Node image, version 22 or newer', () => {
    const bases = stages.filter((s) => !stages.some((other) => other.name === s.from)).map((s) => s.from);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(nodeMajor(base), base).toBeGreaterThanOrEqual(22);
    for (const target of TARGETS) expect(nodeMajor(config(target).baseImage)).toBeGreaterThanOrEqual(22);
  });

  it.each(TARGETS)('%s runs as a numeric non-root user, so Kubernetes can verify runAsNonRoot', (target) => {
    const user = config(target).user ?? 'root';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(
      user
        .split(':')
        .map(Number)
        .every((id) => id > 0),
    ).toBe(true);
  });

  it.each(SERVICES)(
    '%s: health check on /healthz, CMD node [flags] services/<name>/dist/main.js',
    (service) => {
      const image = config(service);
      expect(image.healthcheck).toMatch(/\/healthz/);
      const command = [...image.entrypoint, ...image.cmd];
      expect(nodeCommand(command)?.script).toBe(serviceEntry(service));
      expect(command.at(-1)).toBe(serviceEntry(service));
      expect(packageOf(image)).toEqual({
        dir: `services/${service}`,
        destination: `/app/services/${service}`,
      });
    },
  );

  it('splits a node command into its flags and its script', () => {
    expect(nodeCommand(['node', 'services/x/dist/main.js'])).toEqual({
      flags: [],
      script: 'services/x/dist/main.js',
    });
    expect(
      nodeCommand(['node', '--single-threaded-gc', '--max-semi-space-size=1', 'main.js', '--calls', '2']),
    ).toEqual({ flags: ['--single-threaded-gc', '--max-semi-space-size=1'], script: 'main.js' });
    expect(nodeCommand(['sleep', '10'])).toBeUndefined();
    expect(nodeCommand(['node', '--version'])).toBeUndefined();
  });

  it("reads each image's environment, its own ENV over its parents'", () => {
    expect(config('gateway').env).toMatchObject({ NODE_ENV: 'production', PORT: '8080' });
    expect(config('gateway').env.NODE_OPTIONS).toBeUndefined();
    // bench:fetcher runs the fetcher with these, as deployed (docs/benchmarks.md).
    expect(config('recording-fetcher').env).toMatchObject({
      NODE_ENV: 'production',
      NODE_OPTIONS: '--max-semi-space-size=1',
    });
  });

  it('compiles and deploys (pnpm deploy --prod) every package an image copies', () => {
    const build = stages.find((s) => s.name === 'build')!;
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.text);
    const tsc = runs.find((r) => r.includes('tsc -b'))!;
    const deploy = runs.find((r) => /deploy --prod/.test(r))!;
    for (const target of TARGETS) {
      const { dir } = packageOf(config(target));
      expect(tsc, target).toContain(dir);
      expect(deploy, target).toContain(dir);
    }
  });

  it('the Kubernetes containers and compose services run the same entries the images do', () => {
    const manifests = renderOverlay('prod');
    const compose = asComposeServices(loadComposeFile(COMPOSE_FILE).services);
    for (const service of SERVICES) {
      const container = firstContainer(find<IDeployment>(manifests, 'Deployment', service));
      expect(container.command).toEqual([...config(service).entrypoint, ...config(service).cmd]);
      expect(compose[service]?.build.target).toBe(service);
    }
    const init = podSpec(find<IDeployment>(manifests, 'Deployment', 'transcriber')).initContainers?.[0];
    expect(init?.command).toEqual(config('model-fetch').entrypoint);
    expect(compose['sim']?.entrypoint.slice(0, 2)).toEqual(config('sim').entrypoint);
  });
});

/** Scripts the prod overlay runs with `node` in the image built from `target`. */
function manifestEntries(target: string): string[] {
  const manifests = renderOverlay('prod');
  const workloads = [...ofKind<IDeployment>(manifests, 'Deployment'), ...ofKind<IJob>(manifests, 'Job')];
  return workloads
    .flatMap((w) => allContainers(podSpec(w)))
    .filter((c) => c.image?.startsWith(`registry.example.com/calltx/${target}:`))
    .flatMap((c) => nodeCommand(c.command ?? [])?.script ?? []);
}

describe('the images’ entries exist and start after `pnpm deploy --prod` (what the build stage does)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'deploy-check-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each(TARGETS)('%s', { timeout: 180_000 }, async (target) => {
    const image = config(target);
    const { dir } = packageOf(image);
    const { insidePackage, script } = entryOf(image);
    const deployed = path.join(out, dir);
    await deployPackage(dir, deployed);
    expect(existsSync(path.join(deployed, insidePackage)), `${script} after deploy`).toBe(true);
    // Entries the manifests run in this image besides its own (the migrations in the Job) must exist too.
    for (const other of manifestEntries(target)) {
      const relative = path.posix.relative(
        packageOf(image).destination,
        path.posix.join(image.workdir, other),
      );
      expect(existsSync(path.join(deployed, relative)), `${other}, run by the Kubernetes manifests`).toBe(
        true,
      );
    }
    // Run from a folder laid out like the image's WORKDIR, with no environment: services must get as far as
    // reading their configuration (every module resolved from production dependencies only) and name each
    // variable they require; tools print their usage.
    const workdir = out;
    if ((SERVICES as readonly string[]).includes(target)) {
      const { code, output } = await runEntry(workdir, script, [], {});
      expect(output).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(code).not.toBe(0);
      for (const name of requiredVariables(ENTRY_VARIABLES[script]!)) expect(output).toContain(name);
    } else {
      const { code, output } = await runEntry(workdir, script, ['--help'], {});
      expect(output).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(code).toBe(0);
    }
  });
});
