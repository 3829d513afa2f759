import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestPki,
  eventually,
  s3ForTests,
  startEmbeddedNats,
  startLocalPostgres,
  startRecordingProxy,
  type EmbeddedNats,
  type LocalPostgres,
  type RecordingProxy,
  type S3ForTests,
  type TestPki,
} from '@calltx/devstack';
import { newSid } from '@calltx/twilio-sim';
import { SAMPLE_CALL, System } from './testing/system.js';

/**
 * The services as deployed with everything in transit and at rest protected: a NATS that takes TLS with client
 * certificates only, a Postgres that takes TLS only (verify-full against the test's CA), and an S3 asked for
 * server-side encryption on every upload. The gateway and stream-ingest run as processes and carry a call.
 */
const SSE = 'x-amz-server-side-encryption';

let pki: TestPki;
let nats: EmbeddedNats;
let pg: LocalPostgres;
let s3: S3ForTests;
let proxy: RecordingProxy;
let system: System;
const SERVICES = ['gateway', 'stream-ingest'] as const;

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
  system = await System.start({
    label: 'tls',
    natsUrl: nats.url,
    databaseUrl: pg.url,
    s3: { ...s3.config, endpoint: proxy.endpoint },
    env: {
      NATS_TLS_CA: pki.caFile,
      NATS_TLS_CERT: pki.clientCertFile,
      NATS_TLS_KEY: pki.clientKeyFile,
      DATABASE_SSL_CA: pki.caFile,
      S3_SSE: 'AES256',
    },
  });
  for (const name of SERVICES) await system.start(name);
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await proxy?.stop();
  await Promise.all([nats?.stop(), pg?.stop(), s3?.stop()]);
  await pki?.remove();
});

describe('services on TLS-only NATS and Postgres, with server-side encryption of objects', () => {
  it('are ready, carry a call, and ask for encryption on every object they write', async () => {
    expect(nats.url).toMatch(/^tls:/);
    for (const name of SERVICES) {
      const response = await fetch(`${system.url(name)}/readyz`);
      expect(response.status, await response.text()).toBe(200);
    }

    const callSid = newSid('CA');
    const call = await system.call({ callSid, wav: SAMPLE_CALL, speed: 4 });
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
