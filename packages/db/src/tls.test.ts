import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@calltx/config';
import { createTestPki, startLocalPostgres, type LocalPostgres, type TestPki } from '@calltx/devstack';
import { createPool, databaseConnection, pgConnectionConfig } from './pool.js';
import { DATABASE_VARIABLES } from './variables.js';

/** Whether this connection is encrypted, as the server sees it; throws what connecting threw. */
async function sslInUse(url: string, caFile?: string): Promise<boolean> {
  const pool = createPool(
    databaseConnection(loadConfig(DATABASE_VARIABLES, { DATABASE_URL: url, DATABASE_SSL_CA: caFile })),
    {
      max: 1,
      connectionTimeoutMillis: 5_000,
    },
  );
  try {
    const { rows } = await pool.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return rows[0]!.ssl;
  } finally {
    await pool.end();
  }
}

const withMode = (url: string, sslmode: string, host?: string) => {
  const u = new URL(url);
  u.searchParams.set('sslmode', sslmode);
  if (host) u.hostname = host;
  return u.toString();
};

describe('Postgres over TLS only (CA made by the test; server certificate for 127.0.0.1 only)', () => {
  let pki: TestPki;
  let server: LocalPostgres;

  beforeAll(async () => {
    pki = await createTestPki({ serverNames: ['IP:127.0.0.1'] });
    server = await startLocalPostgres({
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, only: true },
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await pki?.remove();
  });

  it('DATABASE_SSL_CA alone means verify-full: encrypted, certificate and host name checked', async () => {
    expect(await sslInUse(server.url, pki.caFile)).toBe(true);
    expect(await sslInUse(withMode(server.url, 'verify-full'), pki.caFile)).toBe(true);
    // The certificate names 127.0.0.1, not localhost: verify-full refuses, verify-ca (CA only) accepts.
    await expect(sslInUse(withMode(server.url, 'verify-full', 'localhost'), pki.caFile)).rejects.toThrow(
      /does not match|altnames/i,
    );
    expect(await sslInUse(withMode(server.url, 'verify-ca', 'localhost'), pki.caFile)).toBe(true);
  });

  it('refuses a server its CA did not sign, in every verifying mode', async () => {
    for (const mode of ['verify-full', 'verify-ca', 'require']) {
      await expect(sslInUse(withMode(server.url, mode), pki.otherCaFile)).rejects.toThrow(/certificate/i);
    }
  });

  it('require without a CA encrypts without checking (libpq); plaintext is refused by this server', async () => {
    expect(await sslInUse(withMode(server.url, 'require'))).toBe(true);
    await expect(sslInUse(server.url)).rejects.toThrow(/pg_hba|no encryption|SSL off/i);
    await expect(sslInUse(withMode(server.url, 'disable'))).rejects.toThrow(/pg_hba|no encryption|SSL off/i);
  });
});

describe('pgConnectionConfig', () => {
  it('gives node-postgres the CA with libpq meanings, instead of a connection string that would drop it', () => {
    const config = pgConnectionConfig({ url: 'postgres://u:p@db:5432/calltx', sslCaFile: '/dev/null' });
    expect(config).toMatchObject({ host: 'db', port: 5432, user: 'u', password: 'p', database: 'calltx' });
    expect(config.connectionString).toBeUndefined();
    expect(config.ssl).toMatchObject({ ca: '' });
    expect((config.ssl as { checkServerIdentity?: unknown }).checkServerIdentity).toBeUndefined();
    expect(pgConnectionConfig('postgres://db/calltx').ssl).toBeUndefined();
    expect(pgConnectionConfig('postgres://db/calltx?sslmode=disable').ssl).toBe(false);
    expect(pgConnectionConfig('postgres://db/calltx?sslmode=require').ssl).toMatchObject({
      rejectUnauthorized: false,
    });
  });

  it('refuses contradictions: a CA with sslmode=disable or with an sslrootcert', () => {
    expect(() =>
      pgConnectionConfig({ url: 'postgres://db/x?sslmode=disable', sslCaFile: '/ca.pem' }),
    ).toThrow(ConfigError);
    expect(() =>
      pgConnectionConfig({ url: 'postgres://db/x?sslrootcert=/a.pem', sslCaFile: '/ca.pem' }),
    ).toThrow(ConfigError);
  });

  it('DATABASE_URL takes only the sslmodes node-postgres can honour', () => {
    for (const mode of ['prefer', 'allow', 'no-verify', 'bogus']) {
      expect(() =>
        loadConfig(DATABASE_VARIABLES, { DATABASE_URL: `postgres://db/x?sslmode=${mode}` }),
      ).toThrow(/sslmode must be one of/);
    }
    expect(() =>
      loadConfig(DATABASE_VARIABLES, { DATABASE_URL: 'postgres://db/x', DATABASE_SSL_CA: 'ca.pem' }),
    ).toThrow(/DATABASE_SSL_CA/);
  });
});
