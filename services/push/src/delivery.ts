import { computeRetryDelayMs, compileRetryPolicy, type RetryPolicy } from '@chatmesh/errors';
import type { MetricInstruments } from '@chatmesh/metrics';
import type { PushChannel } from '@chatmesh/store';
import type { PUSH_METRICS } from './metrics.js';
import type { PushProviderAdapter, WakeUp } from './providers/types.js';

/** How one wake-up to one channel ended, after its retries. */
export type DeliveryOutcome =
  | { readonly kind: 'sent'; readonly attempts: number }
  | { readonly kind: 'dead'; readonly reason: string; readonly attempts: number }
  | { readonly kind: 'rejected'; readonly reason: string; readonly attempts: number }
  /** Still throttled or unavailable after every attempt, or told to wait longer than the longest delay. */
  | { readonly kind: 'unavailable'; readonly reason: string; readonly attempts: number };

export interface DeliveryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends one wake-up to one channel with retries: a `retry` answer waits the longer of the provider's Retry-After and
 * an exponential backoff with full jitter (the shared retry policy of `@chatmesh/errors`), and gives up at once when
 * Retry-After asks for more than the longest delay (the request then goes to the dead-letter topic rather than
 * blocking its partition). Dead and rejected answers are final.
 */
export function createDelivery(deps: {
  policy: DeliveryPolicy;
  metrics: MetricInstruments<typeof PUSH_METRICS>;
  sleep?: Sleep;
  random?: () => number;
  clock?: () => number;
}): (provider: PushProviderAdapter, channel: PushChannel, wakeUp: WakeUp) => Promise<DeliveryOutcome> {
  const policy: RetryPolicy = compileRetryPolicy({
    maxAttempts: deps.policy.maxAttempts,
    initialDelayMs: deps.policy.initialDelayMs,
    maxDelayMs: Math.max(deps.policy.maxDelayMs, deps.policy.initialDelayMs),
    jitter: true,
  });
  const sleep = deps.sleep ?? realSleep;
  const random = deps.random ?? Math.random;
  const clock = deps.clock ?? (() => performance.now());
  const { metrics } = deps;
  return async (provider, channel, wakeUp) => {
    for (let attempt = 1; ; attempt++) {
      const started = clock();
      const outcome = await provider.send(channel, wakeUp);
      metrics.pushSendDurationSeconds.observe({ provider: provider.name }, (clock() - started) / 1000);
      if (outcome.kind === 'sent') {
        metrics.pushSentTotal.inc({ provider: provider.name });
        return { kind: 'sent', attempts: attempt };
      }
      metrics.pushFailedTotal.inc({ provider: provider.name, reason: outcome.reason });
      if (outcome.kind === 'dead') return { kind: 'dead', reason: outcome.reason, attempts: attempt };
      if (outcome.kind === 'rejected') return { kind: 'rejected', reason: outcome.reason, attempts: attempt };
      if (attempt >= policy.maxAttempts) return { kind: 'unavailable', reason: outcome.reason, attempts: attempt };
      if (outcome.retryAfterMs !== null && outcome.retryAfterMs > policy.maxDelayMs) {
        return { kind: 'unavailable', reason: outcome.reason, attempts: attempt };
      }
      const backoff = computeRetryDelayMs(policy, attempt, random);
      await sleep(Math.max(backoff, outcome.retryAfterMs ?? 0));
    }
  };
}
