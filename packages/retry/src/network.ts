/**
 * Socket-level failures: the server may be restarting or briefly unreachable, so the same request can succeed
 * later. Shared by every client error that classifies its causes (database, object store).
 */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

export const isTransientNetworkCode = (code: string | undefined): boolean =>
  code !== undefined && TRANSIENT_NETWORK_CODES.has(code);

/** The `code` of an error, or of the first member of an AggregateError (a dual-stack connect attempt). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  const inner = (error as { errors?: unknown }).errors;
  return Array.isArray(inner) && inner.length > 0 ? errorCode(inner[0]) : undefined;
}
