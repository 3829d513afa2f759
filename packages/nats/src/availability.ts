import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { retry } from '@calltx/retry';
import { UnnamedJetStreamApiCodes } from './api-codes.js';
import { JETSTREAM_RETRY } from './retry-policy.js';

/**
 * JetStream API errors a clustered server returns while it cannot answer yet: no meta or stream leader (an
 * election, a lost quorum), or too few servers up to place a replicated asset.
 */
const CLUSTER_UNAVAILABLE_CODES = new Set<number>([
  UnnamedJetStreamApiCodes.ClusterNoPeers,
  UnnamedJetStreamApiCodes.ClusterNotAvailable,
  UnnamedJetStreamApiCodes.StreamOffline,
  UnnamedJetStreamApiCodes.ConsumerOffline,
]);

/**
 * Whether `error` means JetStream is (for now) unable to answer: a request timed out (a leader election or a
 * lost quorum leaves requests unanswered), nobody answered (a restarted server whose JetStream is not up yet),
 * or the cluster said it is unavailable. Such errors end by themselves; config errors do not.
 */
function isJetStreamUnavailable(error: unknown): boolean {
  if (error instanceof errors.TimeoutError) return true;
  // What nats.js makes of "no responders" to a JetStream API request (the class is not exported).
  if (error instanceof Error && error.name === 'JetStreamNotEnabled') return true;
  if (error instanceof errors.RequestError)
    return error.isNoResponders() || error.cause instanceof errors.TimeoutError;
  if (error instanceof JetStreamApiError)
    return error.status === 503 || CLUSTER_UNAVAILABLE_CODES.has(error.code);
  return false;
}

/**
 * Runs `operation`, retrying with `JETSTREAM_RETRY` as long as it fails because JetStream is
 * unavailable (see `isJetStreamUnavailable`): a service starting during a leader election waits for the cluster
 * instead of exiting. Any other error is thrown at once.
 */
export async function whileJetStreamUnavailable<T>(
  what: string,
  operation: () => Promise<T>,
  { logger }: { logger: Logger },
): Promise<T> {
  return retry(operation, JETSTREAM_RETRY, {
    retryable: isJetStreamUnavailable,
    onRetry: ({ error, attempt, delayMs }) =>
      logger.warn({ err: error, what, attempt, retryInMs: delayMs }, 'JetStream unavailable, waiting for it'),
  });
}
