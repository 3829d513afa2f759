import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedServerError } from '../errors.js';

const run = promisify(execFile);

export interface TestPkiOptions {
  /** subjectAltName entries of the server certificate (default `IP:127.0.0.1,DNS:localhost`). */
  serverNames?: readonly string[];
}

/** PEM files of a throwaway certificate authority, in a private temporary directory. */
export interface TestPki {
  dir: string;
  caFile: string;
  /** Signed by the CA, for the names in `serverNames`. */
  serverCertFile: string;
  serverKeyFile: string;
  /** Signed by the CA, for client authentication (mutual TLS). */
  clientCertFile: string;
  clientKeyFile: string;
  /** Another CA, which signed none of these: a client trusting only it must refuse the server. */
  otherCaFile: string;
  remove(): Promise<void>;
}

/** CA certificates need these extensions; `openssl req` takes them from a config file. */
const CA_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = calltx test CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

/**
 * A CA with a server and a client certificate (P-256, valid for two days), made with the openssl command line
 * tool, for tests of TLS between the services and NATS or Postgres.
 */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'calltx-pki-'));
  const file = (name: string) => join(dir, name);
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (error) {
      throw new EmbeddedServerError(
        `openssl ${args[0]} failed (install it with \`apt-get install -y openssl\`)`,
        { cause: error },
      );
    }
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const newCa = async (name: string) =>
    openssl(
      'req',
      '-x509',
      '-new',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-config',
      'ca.cnf',
      '-extensions',
      'ca',
    );
  const issue = async (name: string, extensions: string) => {
    await writeFile(file(`${name}.ext`), extensions);
    await openssl(
      'req',
      '-new',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  try {
    await writeFile(file('ca.cnf'), CA_CONFIG);
    await newCa('ca');
    await newCa('other-ca');
    const names = options.serverNames ?? ['IP:127.0.0.1', 'DNS:localhost'];
    await issue(
      'server',
      `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.join(',')}\n`,
    );
    await issue('client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    caFile: file('ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    otherCaFile: file('other-ca.crt'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
