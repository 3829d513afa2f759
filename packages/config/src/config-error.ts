import { CalltxError } from '@calltx/events';

export class ConfigError extends CalltxError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, { retryable: false });
    this.problems = problems;
  }
}
