// A function's retry policy (`retry` in the app's registration), applied like the host does for
// non-HTTP triggers (azure-webjobs-sdk FunctionExecutorExtensions.TryExecuteAsync): the whole invocation
// is repeated with the same input and a retryContext, until it succeeds, the retries run out
// (maxRetryCount -1 = forever) or the host stops. The state lives in the instance's memory only: a batch
// that another instance picks up (rebalancing, a crash) starts again at retry 0, as in Azure.
import { type RpcDuration, type RpcRetryOptions } from './coreTypes';

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

/** RandomizedExponentialBackoffStrategy.RandomizationFactor. */
const RANDOMIZATION = 0.2;

/**
 * Delay before retry number `retry` (1 = the first retry). fixedDelay: the delay. exponentialBackoff:
 * WebJobs' RandomizedExponentialBackoffStrategy (minimum = delta = minimumInterval): the minimum first,
 * then minimum + rand(0.8, 1.2) x 2^(retry-2) x minimum, and the maximum once that reaches it (the
 * sequence only grows, so it stays there). With 10 s and 5 min: about 10, 20, 30, 50, 90, 170, 300 s.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  if (policy.strategy === 'fixedDelay') return policy.delayMs;
  if (retry <= 1) return Math.min(policy.minimumMs, policy.maximumMs);
  const factor = 1 - RANDOMIZATION + random() * 2 * RANDOMIZATION;
  // Whole TimeSpan ticks (100 ns).
  const delay =
    Math.round((policy.minimumMs + factor * 2 ** (retry - 2) * policy.minimumMs) * 10_000) / 10_000;
  return delay < policy.maximumMs ? delay : policy.maximumMs;
}

export function canRetry(policy: RetryPolicy | undefined, retriesSoFar: number): boolean {
  return policy !== undefined && (policy.maxRetryCount === -1 || retriesSoFar < policy.maxRetryCount);
}

function durationMs(duration: RpcDuration | null | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds ?? 0) * 1000 + Math.round(Number(duration.nanos ?? 0) / 1e6);
}
