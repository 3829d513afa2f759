/**
 * Twilio's connection overrides, read from a webhook URL's fragment (`#rc=5&rp=5xx,ct,rt&tt=15000`): how many
 * times to retry a failed request, on which failures, and how long one attempt and all of them may take. Without
 * them Twilio retries once, and only when it could not connect.
 */
export interface ConnectionOverrides {
  /** Retries after the first attempt (0..5). */
  retries: number;
  retryOn: ReadonlySet<'4xx' | '5xx' | 'ct' | 'rt'>;
  /** Budget for all attempts together (ms, at most 15 000). */
  totalMs: number;
  /** How long one attempt waits for the response (ms, at most 15 000). */
  readTimeoutMs: number;
}

const MAX_RETRIES = 5;
const MAX_TOTAL_MS = 15_000;
const POLICIES = ['4xx', '5xx', 'ct', 'rt'] as const;

export function connectionOverrides(url: string): ConnectionOverrides {
  const fragment = new URLSearchParams(new URL(url).hash.slice(1));
  const retries = clamp(Number(fragment.get('rc') ?? 1), 0, MAX_RETRIES);
  const totalMs = clamp(Number(fragment.get('tt') ?? MAX_TOTAL_MS), 100, MAX_TOTAL_MS);
  const readTimeoutMs = clamp(Number(fragment.get('rt') ?? MAX_TOTAL_MS), 100, MAX_TOTAL_MS);
  const policy = (fragment.get('rp') ?? 'ct').split(',');
  const retryOn = new Set(POLICIES.filter((p) => policy.includes(p) || policy.includes('all')));
  return { retries, retryOn, totalMs, readTimeoutMs };
}

/**
 * When attempt `attempt` (1 = the first) starts, in ms after the first: the attempts are spread evenly over the
 * total budget, as Twilio spreads its retries over `tt` rather than sending them back to back (`rc=5&tt=15000`:
 * at 0, 2.5, 5, 7.5, 10 and 12.5 s). Twilio does not document its schedule; what matters is that a server
 * unavailable for a few seconds (a NATS election, a restart) still gets a later attempt.
 */
export function attemptOffsetMs(overrides: ConnectionOverrides, attempt: number): number {
  return Math.round(((attempt - 1) * overrides.totalMs) / (overrides.retries + 1));
}

/** Whether Twilio would try again after this outcome: an HTTP status, or a request that never got one. */
export function shouldRetry(
  overrides: ConnectionOverrides,
  outcome: number | 'connect' | 'timeout',
): boolean {
  if (outcome === 'connect') return overrides.retryOn.has('ct');
  if (outcome === 'timeout') return overrides.retryOn.has('rt');
  if (outcome >= 500) return overrides.retryOn.has('5xx');
  if (outcome >= 400) return overrides.retryOn.has('4xx');
  return false;
}

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.trunc(value))) : min;
}
