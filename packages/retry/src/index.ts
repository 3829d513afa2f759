export { backoffDelayMs, isRetryable, retry, type RetryOptions, type RetryPolicy } from './retry.js';
export { errorCode, isTransientNetworkCode } from './network.js';
