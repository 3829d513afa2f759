import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestPki,
  eventually,
  infraEnv,
  s3ForTests,
  spawnService,
  startEmbeddedNats,
  startLocalPostgres,
  startRecordingProxy,
  uniqueName,
  type EmbeddedNats,
  type LocalPostgres,
  type RecordingProxy,
  type S3ForTests,
  type ServiceProcess,
  type TestPki,
} from '@calltx/devstack';
import { newSid, simulateCall } from '@calltx/twilio-sim';

/**
 * The services as deployed with everything in transit and at rest protected: a NATS that takes TLS with client
 * certificates only, a Postgres that takes TLS only (verify-full against the test's CA), and an S3 asked for
 * server-side encryption on every upload. The gateway and stream-ingest run as processes and carry a call.
 */
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const ACCOUNT_SID = `AC${'d'.repeat(32)}`;
const AUTH_TOKEN = 'tls-test-auth-token-0123456789';
const PUBLIC_BASE_URL = 'http://gateway.tls-test.invalid';
const SSE = 'x-amz-server-side-encryption';

let pki: TestPki;
let nats: EmbeddedNats;
let pg: LocalPostgres;
let s3: S3ForTests;
let proxy: RecordingProxy;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  [nats, pg, s3] = await Promise.all([
    startEmbeddedNats({
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile },
    }),
    startLocalPostgres({ tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, only: true } }),
    s3ForTests(),
  ]);
  proxy = await startRecordingProxy(s3.config.endpoint);
  const env = {
    ...infraEnv({
      natsUrl: nats.url,
      prefix: uniqueName('tls'),
      databaseUrl: pg.url,
      s3: { ...s3.config, endpoint: proxy.endpoint },
    }),
    NATS_TLS_CA: pki.caFile,
    NATS_TLS_CERT: pki.clientCertFile,
    NATS_TLS_KEY: pki.clientKeyFile,
    DATABASE_SSL_CA: pki.caFile,
    S3_SSE: 'AES256',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: '+15005550006',
    CALLER_NUMBER_HASH_KEY: 'dev-caller-number-hash-key-0123456789',
    PUBLIC_BASE_URL,
    LOG_LEVEL: 'info',
  };
  for (const name of ['gateway', 'stream-ingest'])
    services.push(await spawnService(root(`services/${name}/src/main.ts`), name, env));
}, 120_000);

afterAll(async () => {
  for (const service of services) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  await proxy?.stop();
  await Promise.all([nats?.stop(), pg?.stop(), s3?.stop()]);
  await pki?.remove();
});

describe('services on TLS-only NATS and Postgres, with server-side encryption of objects', () => {
  it('are ready, carry a call, and ask for encryption on every object they write', async () => {
    expect(nats.url).toMatch(/^tls:/);
    for (const service of services) {
      const response = await fetch(`${service.baseUrl}/readyz`);
      expect(response.status, await response.text()).toBe(200);
    }

    const callSid = newSid('CA');
    const call = await simulateCall({
      publicBaseUrl: PUBLIC_BASE_URL,
      connectBaseUrl: services[0]!.baseUrl,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      callSid,
      to: '+15005550100',
      wav: root('packages/twilio-sim/assets/sample-call.wav'),
      speed: 4,
    });
    expect(call.framesSent.inbound).toBeGreaterThan(1000);

    // stream-ingest stores the call's audio: each object written names the call and asks for SSE-S3.
    const writes = await eventually(() => {
      const puts = proxy.requests.filter((r) => r.method === 'PUT' || r.method === 'POST');
      expect(puts.some((r) => r.url.includes(callSid) && r.url.endsWith('.wav'))).toBe(true);
      return puts;
    }, 60_000);
    const creating = writes.filter((r) => !/[?&](partNumber|uploadId)=/.test(r.url));
    expect(creating.length).toBeGreaterThan(0);
    for (const r of creating) expect(r.headers[SSE], `${r.method} ${r.url}`).toBe('AES256');
  }, 120_000);
});
