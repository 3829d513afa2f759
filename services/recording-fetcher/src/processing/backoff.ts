const MAX_BACKOFF_MS = 60_000;

/** The fetcher's one retry curve: `baseMs` before the second try, doubling for each further one, at most 60 s. */
export function backoffDelayMs(baseMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
}
