import { CalltxError } from '@calltx/events';

// The base error and InvalidMessageError live in the public contract, so consumers outside the monorepo get the
// same classes (and `instanceof`) the services throw.
export { CalltxError, InvalidMessageError } from '@calltx/events';

export class ConfigError extends CalltxError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, { retryable: false });
    this.problems = problems;
  }
}
