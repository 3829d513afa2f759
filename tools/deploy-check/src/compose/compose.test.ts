import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DeployCheckError } from '../errors.js';
import { SERVICES } from '../testing/contracts.js';
import { asComposeServices, type ComposeService } from '../testing/types.js';
import { COMPOSE_FILE } from '../testing/fixtures.js';
import { interpolate } from './interpolate.js';
import { loadComposeFile } from './load.js';

/** Validates a changed compose document by loading it from a file, as the real one is. */
function schemaError(mutate: (doc: { services: Record<string, ComposeService> }) => void): unknown {
  const doc = structuredClone(loadComposeFile(COMPOSE_FILE).value) as {
    services: Record<string, ComposeService>;
  };
  mutate(doc);
  const dir = mkdtempSync(path.join(tmpdir(), 'compose-'));
  try {
    writeFileSync(path.join(dir, 'docker-compose.yml'), stringify(doc));
    loadComposeFile(path.join(dir, 'docker-compose.yml'));
    return undefined;
  } catch (error) {
    return error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = (duration: string): number => {
  const match = /^(\d+)(s|m)$/.exec(duration);
  if (!match) throw new Error(`unexpected duration ${duration}`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
};

describe('docker-compose.yml', () => {
  const services = asComposeServices(loadComposeFile(COMPOSE_FILE).services);
  const service = (name: string): ComposeService => {
    const found = services[name];
    if (!found) throw new Error(`no compose service ${name}`);
    return found;
  };

  it('validates against the Compose Specification schema, also with every variable overridden', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'nats',
        'minio',
        'minio-init',
        'postgres',
        'transcriber-model',
        'sim',
        ...SERVICES,
      ]),
    );
    const overridden = loadComposeFile(COMPOSE_FILE, {
      PUBLIC_BASE_URL: 'https://abc.example.com',
      WHISPER_MODEL: 'base.en',
      LOG_FORMAT: 'json',
    });
    const changed = asComposeServices(overridden.services);
    expect(changed['gateway']?.environment['PUBLIC_BASE_URL']).toBe('https://abc.example.com');
    expect(changed['transcriber-model']?.command[0]).toBe('base.en');
  });

  it('the schema check rejects what Compose rejects', () => {
    expect(schemaError(() => undefined)).toBeUndefined();
    expect(
      schemaError((doc) => Object.assign(doc.services['gateway']!.healthcheck, { intervall: '5s' })),
    ).toBeInstanceOf(DeployCheckError);
    expect(
      schemaError((doc) =>
        Object.assign(doc.services['gateway']!.depends_on['nats']!, { condition: 'service_ready' }),
      ),
    ).toBeInstanceOf(DeployCheckError);
    expect(
      schemaError((doc) => Object.assign(doc.services['gateway']!, { stop_grace_period: 'forty seconds' })),
    ).toBeInstanceOf(DeployCheckError);
  });

  it('starts NATS with JetStream on a volume, and MinIO with its bucket created by a one-shot mc', () => {
    expect(service('nats').command).toEqual(expect.arrayContaining(['--jetstream', '--store_dir=/data']));
    expect(service('nats').volumes).toContain('nats-data:/data');
    expect(service('minio-init').depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    expect(service('minio-init').command.join(' ')).toContain(
      `local/${service('stream-ingest').environment['S3_BUCKET']}`,
    );
  });

  it('gives every service a health check and waits for healthy (or completed) dependencies', () => {
    for (const name of ['nats', 'minio', 'postgres', ...SERVICES])
      expect(service(name).healthcheck?.test, name).toBeDefined();
    for (const name of SERVICES) {
      const dependsOn = service(name).depends_on;
      expect(dependsOn['nats']).toEqual({ condition: 'service_healthy' });
      for (const [dependency, { condition }] of Object.entries(dependsOn)) {
        const oneShot = ['minio-init', 'transcriber-model'].includes(dependency);
        expect(condition, `${name} → ${dependency}`).toBe(
          oneShot ? 'service_completed_successfully' : 'service_healthy',
        );
      }
      if ('DATABASE_URL' in service(name).environment)
        expect(dependsOn['postgres']).toEqual({ condition: 'service_healthy' });
      if ('S3_ENDPOINT' in service(name).environment) expect(dependsOn['minio-init']).toBeDefined();
    }
  });

  it('lets services finish in-flight work on stop: stop_grace_period ≥ SHUTDOWN_GRACE_MS + 5 s', () => {
    for (const name of SERVICES) {
      const graceMs = Number(service(name).environment['SHUTDOWN_GRACE_MS']);
      expect(seconds(service(name).stop_grace_period), name).toBeGreaterThanOrEqual(graceMs / 1000 + 5);
    }
  });

  it('fetches the Whisper model into the volume the transcriber reads, before the transcriber starts', () => {
    const model = service('transcriber-model');
    const transcriber = service('transcriber');
    const [name, flag, dir] = model.command;
    expect(flag).toBe('--dir');
    // model-fetch writes <dir>/whisper-<name>.
    expect(transcriber.environment['WHISPER_MODEL_DIR']).toBe(`${dir}/whisper-${name}`);
    expect(model.volumes).toEqual([`whisper-model:${dir}`]);
    // The graphs fetched are the ones the transcriber loads.
    expect(model.command.includes('--quantized')).toBe(
      transcriber.environment['WHISPER_QUANTIZED'] === 'true',
    );
    expect(transcriber.volumes).toContain(`whisper-model:${dir}:ro`);
    expect(transcriber.depends_on['transcriber-model']).toEqual({
      condition: 'service_completed_successfully',
    });
  });

  it('runs the simulator under a profile, signing with the gateway’s credentials and serving the recordings to the fetcher', () => {
    const sim = service('sim');
    const gateway = service('gateway');
    const fetcher = service('recording-fetcher');
    expect(sim.profiles).toEqual(['sim']);
    expect(sim.entrypoint).toEqual([
      'node',
      'packages/twilio-sim/dist/cli.js',
      '--gateway',
      'http://gateway:8080',
    ]);
    expect(sim.environment['TWILIO_AUTH_TOKEN']).toBe(gateway.environment['TWILIO_AUTH_TOKEN']);
    expect(sim.environment['TWILIO_ACCOUNT_SID']).toBe(gateway.environment['TWILIO_ACCOUNT_SID']);
    expect(sim.environment['PUBLIC_BASE_URL']).toBe(gateway.environment['PUBLIC_BASE_URL']);
    // The fake Twilio API listens on 127.0.0.1 inside the simulator: sharing the fetcher's network namespace
    // makes that the fetcher's 127.0.0.1 too.
    expect(sim.network_mode).toBe('service:recording-fetcher');
    expect(sim.environment['TWILIO_API_BASE_URL']).toBe(fetcher.environment['TWILIO_API_BASE_URL']);
    expect(new URL(fetcher.environment['TWILIO_API_BASE_URL']!).hostname).toBe('127.0.0.1');
    expect(fetcher.environment['TWILIO_AUTH_TOKEN']).toBe(gateway.environment['TWILIO_AUTH_TOKEN']);
  });
});

describe('interpolate', () => {
  it('resolves ${VAR}, defaults, $$ and required variables as Compose does', () => {
    const env = { SET: 'x', EMPTY: '' };
    expect(interpolate('${SET}/${UNSET:-d}/${EMPTY:-d}/${EMPTY-d}/$$SET/$SET', env)).toBe('x/d/d//$SET/x');
    expect(() => interpolate('${UNSET:?needed}', env)).toThrow(/UNSET/);
  });
});
