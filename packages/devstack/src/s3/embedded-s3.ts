import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import AWSAccount from '@20minutes/s3rver/lib/models/account.js';
import { EmbeddedServerError } from '../errors.js';

export interface EmbeddedS3Options {
  /** Where objects are stored; a temporary directory (removed on stop) when unset. */
  dir?: string;
  /** 0 or unset: a free port. */
  port?: number;
  accessKey: string;
  secretKey: string;
  /** Created at start-up when given. */
  bucket?: string;
  /** Only reported back: s3rver accepts SigV4 signatures for any region. */
  region?: string;
}

export interface EmbeddedS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  region: string;
  /** The directory holding the objects. */
  dir: string;
  stop(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver) on 127.0.0.1 that checks SigV4 signatures against the given key pair.
 * s3rver keeps key pairs in one process-wide registry: two embedded servers in one process must not reuse
 * an access key with different secrets.
 */
export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(options.accessKey, options.secretKey);
  const ownDir = options.dir === undefined ? await mkdtemp(join(tmpdir(), 'calltx-s3-')) : undefined;
  const dir = options.dir ?? ownDir!;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: dir,
    silent: true,
    vhostBuckets: false,
    configureBuckets: options.bucket === undefined ? [] : [{ name: options.bucket }],
  });
  const removeDir = async (): Promise<void> => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };

  let port: number;
  try {
    ({ port } = await server.run());
  } catch (error) {
    await removeDir();
    throw new EmbeddedServerError(`s3rver could not start on port ${options.port ?? 0}`, { cause: error });
  }

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: options.region ?? 'us-east-1',
    dir,
    stop: () =>
      (stopping ??= (async () => {
        const closed = server.close();
        // Keep-alive clients would otherwise hold close() open.
        server.httpServer?.closeAllConnections();
        await closed;
        await removeDir();
      })()),
  };
}
