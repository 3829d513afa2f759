import { CalltxError } from '@calltx/events';

/** A deployment file that can't be used as written; `problems` lists every finding, each naming its file. */
export class DeployCheckError extends CalltxError {
  override readonly name = 'DeployCheckError';
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(problems.length > 0 ? `${message}:\n  - ${problems.join('\n  - ')}` : message, {
      cause: options?.cause,
      retryable: false,
    });
  }
}
