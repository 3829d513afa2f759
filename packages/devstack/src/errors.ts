/** An embedded server (nats-server, s3rver, PGlite) or a test dependency could not be started or reached. */
export class EmbeddedServerError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmbeddedServerError';
  }
}
