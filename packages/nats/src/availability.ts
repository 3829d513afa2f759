import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { defaultRetryDelay } from './retry-delay.js';

/**
 * JetStream API errors a clustered server returns while it cannot answer yet: no meta or stream leader (an
 * election, a lost quorum), or too few servers up to place a replicated asset. The server does not name them in
 * `JetStreamApiCodes`; the numbers are from its errors.json.
 */
const CLUSTER_UNAVAILABLE_CODES = new Set([
  10005, // JSClusterNoPeersErr: insufficient resources (replicas down)
  10008, // JSClusterNotAvailErr: JetStream system temporarily unavailable
  10118, // JSStreamOfflineErr
  10119, // JSConsumerOfflineErr
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
 * Runs `operation`, retrying with the one backoff (`defaultRetryDelay`) as long as it fails because JetStream is
 * unavailable (see `isJetStreamUnavailable`): a service starting during a leader election waits for the cluster
 * instead of exiting. Any other error is thrown at once.
 */
export async function whileJetStreamUnavailable<T>(
  what: string,
  operation: () => Promise<T>,
  { logger }: { logger: Logger },
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (!isJetStreamUnavailable(error)) throw error;
      const delay = defaultRetryDelay(attempt);
      logger.warn({ err: error, what, attempt, retryInMs: delay }, 'JetStream unavailable, waiting for it');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
