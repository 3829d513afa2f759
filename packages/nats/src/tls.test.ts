import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@calltx/config';
import { createTestPki, startEmbeddedNats, type EmbeddedNats, type TestPki } from '@calltx/devstack';
import { Subjects } from '@calltx/events';
import { createLogger } from '@calltx/runtime';
import { connectNats, natsConnectionConfig } from './connection.js';
import { startJetStream } from './jetstream-start.js';

const logger = createLogger({ service: 'nats-tls-test', level: 'silent' });

/** What a client that does not speak TLS gets: everything the server sends until it closes, after CONNECT and PING. */
async function plaintextExchange(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
    });
    socket.on('data', (data: Buffer) => (received += data.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

describe('NATS over TLS only (self-signed CA made by the test, client certificates required)', () => {
  let pki: TestPki;
  let nats: EmbeddedNats;

  beforeAll(async () => {
    pki = await createTestPki();
    nats = await startEmbeddedNats({
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile },
    });
  }, 30_000);
  afterAll(async () => {
    await nats?.stop();
    await pki?.remove();
  });

  const variables = () => ({
    NATS_URL: nats.url,
    NATS_TLS_CA: pki.caFile,
    NATS_TLS_CERT: pki.clientCertFile,
    NATS_TLS_KEY: pki.clientKeyFile,
  });

  it('a service connects with NATS_TLS_*, provisions its streams and publishes and consumes through JetStream', async () => {
    const subjects = new Subjects('tls');
    const {
      nats: link,
      js,
      jsm,
    } = await startJetStream({
      ...natsConnectionConfig(variables()),
      name: 'tls-test',
      logger,
      subjects,
      families: ['calls'],
      replicas: 1,
    });
    try {
      expect(link.nc.info?.tls_required).toBe(true);
      expect(link.isConnected()).toBe(true);
      const subject = subjects.call(`CA${'7'.repeat(32)}`, 'started');
      const ack = await js.publish(subject, 'over tls');
      expect(ack.stream).toBe(subjects.streamName('calls'));
      await jsm.consumers.add(ack.stream, { durable_name: 'tls-reader', filter_subject: subject });
      const message = await (await js.consumers.get(ack.stream, 'tls-reader')).next({ expires: 5_000 });
      expect(message?.string()).toBe('over tls');
      message?.ack();
    } finally {
      await link.nc.close();
    }
  });

  it('refuses a client that does not speak TLS', async () => {
    const reply = await plaintextExchange(nats.url);
    // The server announces TLS, reads the plaintext CONNECT as a failed handshake and hangs up: no PONG.
    expect(reply).toMatch(/^INFO .*"tls_required":true/);
    expect(reply).not.toMatch(/PONG/);
  });

  it('refuses a client without a certificate, and a client that trusts another CA refuses the server', async () => {
    const withoutCert = natsConnectionConfig({ NATS_URL: nats.url, NATS_TLS_CA: pki.caFile });
    await expect(
      connectNats({ ...withoutCert, name: 'no-cert', logger, connectTimeoutMs: 3_000 }),
    ).rejects.toThrow();
    const otherCa = natsConnectionConfig({ ...variables(), NATS_TLS_CA: pki.otherCaFile });
    await expect(
      connectNats({ ...otherCa, name: 'other-ca', logger, connectTimeoutMs: 3_000 }),
    ).rejects.toThrow(/certificate/i);
  });
});

describe('natsConnectionConfig', () => {
  it('requires TLS for tls:// URLs or any NATS_TLS_* file, and not otherwise', () => {
    expect(natsConnectionConfig({ NATS_URL: 'nats://a:4222' })).toEqual({ url: 'nats://a:4222' });
    expect(natsConnectionConfig({ NATS_URL: 'nats://a:4222,tls://b:4222' }).tls).toEqual({});
    expect(natsConnectionConfig({ NATS_URL: 'nats://a:4222', NATS_TLS_CA: '/ca.pem' }).tls).toEqual({
      caFile: '/ca.pem',
    });
  });

  it('wants the client certificate and its key together', () => {
    expect(() => natsConnectionConfig({ NATS_URL: 'tls://a:4222', NATS_TLS_CERT: '/c.pem' })).toThrow(
      ConfigError,
    );
    expect(() => natsConnectionConfig({ NATS_URL: 'tls://a:4222', NATS_TLS_KEY: '/k.pem' })).toThrow(
      ConfigError,
    );
  });
});
