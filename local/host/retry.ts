// A function's retry policy (`retry` in the app's registration), applied like the host does for
// non-HTTP triggers: the whole invocation is repeated with the same input and a retryContext, until it
// succeeds, the retries run out (maxRetryCount -1 = forever) or the host stops.
import { RpcDuration, RpcRetryOptions } from './coreTypes';

export interface RetryPolicy {
  strategy: 'fixedDelay' | 'exponentialBackoff';
  /** -1 retries forever. */
  maxRetryCount: number;
  delayMs: number;
  minimumMs: number;
  maximumMs: number;
}

export function retryPolicyFrom(options: RpcRetryOptions | null | undefined): RetryPolicy | undefined {
  if (!options?.retryStrategy) return undefined;
  const maxRetryCount = options.maxRetryCount ?? 0;
  if (!Number.isInteger(maxRetryCount) || maxRetryCount < -1) {
    throw new Error(`retry.maxRetryCount must be an integer >= -1, got ${String(options.maxRetryCount)}`);
  }
  return {
    strategy: options.retryStrategy,
    maxRetryCount,
    delayMs: durationMs(options.delayInterval),
    minimumMs: durationMs(options.minimumInterval),
    maximumMs: durationMs(options.maximumInterval),
  };
}

/** Delay before retry number `retry` (1 = the first retry). */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  if (policy.strategy === 'fixedDelay') return policy.delayMs;
  const exponential = policy.minimumMs * 2 ** Math.max(0, retry - 1);
  return Math.min(policy.maximumMs || exponential, exponential);
}

export function canRetry(policy: RetryPolicy | undefined, retriesSoFar: number): boolean {
  return policy !== undefined && (policy.maxRetryCount === -1 || retriesSoFar < policy.maxRetryCount);
}

function durationMs(duration: RpcDuration | null | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds ?? 0) * 1000 + Math.round(Number(duration.nanos ?? 0) / 1e6);
}
