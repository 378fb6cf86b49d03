import { ChatmeshError, isRetriable } from './chatmesh-error.js';

/** Retry policy as a caller writes it; every field is optional. */
export interface RetryPolicyOptions {
  /** Total attempts including the first. @default 5 */
  maxAttempts?: number;
  /** Delay before the second attempt, in milliseconds. @default 100 */
  initialDelayMs?: number;
  /** Upper bound of any single delay, in milliseconds. @default 5000 */
  maxDelayMs?: number;
  /** Growth factor of the delay between attempts. @default 2 */
  multiplier?: number;
  /**
   * Full jitter (a uniform delay in [0, computed]) to spread retries of many clients.
   * @default true
   */
  jitter?: boolean;
  /**
   * How long an **outage** ({@link isOutage}: a dependency such as Cassandra, Kafka or the registry cannot be reached)
   * is waited out, from the first attempt, in milliseconds: while it lasts, attempts do not run out (retried at
   * `maxDelayMs`). For consumers on the message path, whose records must wait for the store to come back rather than
   * be parked as if they were poison. 0: outages count against `maxAttempts` like any error. @default 0
   */
  outageBudgetMs?: number;
}

/**
 * Codes that say a dependency cannot be reached for now, not that the work itself is wrong: what
 * {@link RetryPolicyOptions.outageBudgetMs} waits out.
 */
export const OUTAGE_CODES: ReadonlySet<string> = new Set([
  'CM_ERR_STORE_UNAVAILABLE',
  'CM_ERR_BUS_BROKER_UNAVAILABLE',
  'CM_ERR_SCHEMA_REGISTRY_UNAVAILABLE',
  'CM_ERR_PRESENCE_UNAVAILABLE',
]);

/** Whether `error` (or an error it wraps, through `cause`) is an outage of a dependency ({@link OUTAGE_CODES}). */
export function isOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    if (current instanceof ChatmeshError && OUTAGE_CODES.has(current.code)) return true;
  }
  return false;
}

/** A validated policy with every default applied; build it with {@link compileRetryPolicy}. */
export type RetryPolicy = Readonly<Required<RetryPolicyOptions>>;

/** Defaults, each with its unit in its name. */
export const RETRY_DEFAULTS: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  multiplier: 2,
  jitter: true,
  outageBudgetMs: 0,
});

/**
 * Applies defaults and validates a policy.
 * @throws ChatmeshError `CM_ERR_RETRY_POLICY_INVALID` naming the bad fields and their values.
 */
export function compileRetryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  const policy = { ...RETRY_DEFAULTS, ...stripUndefined(options) };
  const problems: string[] = [];
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    problems.push(`maxAttempts must be an integer >= 1 (got ${policy.maxAttempts})`);
  if (!(policy.initialDelayMs >= 0)) problems.push(`initialDelayMs must be >= 0 (got ${policy.initialDelayMs})`);
  if (!(policy.maxDelayMs >= policy.initialDelayMs))
    problems.push(`maxDelayMs (${policy.maxDelayMs}) must be >= initialDelayMs (${policy.initialDelayMs})`);
  if (!(policy.multiplier >= 1)) problems.push(`multiplier must be >= 1 (got ${policy.multiplier})`);
  if (!(policy.outageBudgetMs >= 0)) problems.push(`outageBudgetMs must be >= 0 (got ${policy.outageBudgetMs})`);
  if (problems.length > 0) {
    throw new ChatmeshError('CM_ERR_RETRY_POLICY_INVALID', `Invalid retry policy: ${problems.join('; ')}`, {
      context: { problems },
    });
  }
  return Object.freeze(policy);
}

/** The delay before attempt `attempt + 1` (attempt counts from 1), in milliseconds. */
export function computeRetryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  return policy.jitter ? Math.floor(random() * ceiling) : ceiling;
}

/** Hooks and cancellation for {@link retry}. */
export interface RetryOptions {
  /** Decides whether an error is worth another attempt. @default isRetriable (the error's own flag) */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Aborting stops waiting and rethrows the last error. */
  signal?: AbortSignal;
}

/**
 * Runs `operation` until it succeeds, the error is not retriable, or attempts run out.
 * @throws the operation's own error when it is not retriable;
 *   ChatmeshError `CM_ERR_RETRY_EXHAUSTED` (with `cause` = last error) when attempts run out.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy = RETRY_DEFAULTS,
  options: RetryOptions = {},
): Promise<T> {
  const shouldRetry = options.shouldRetry ?? ((error: unknown) => isRetriable(error));
  const startedAtMs = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!shouldRetry(error, attempt) || options.signal?.aborted) throw error;
      const waitingOut =
        policy.outageBudgetMs > 0 && isOutage(error) && Date.now() - startedAtMs < policy.outageBudgetMs;
      if (attempt >= policy.maxAttempts && !waitingOut) {
        throw new ChatmeshError('CM_ERR_RETRY_EXHAUSTED', `Gave up after ${attempt} attempts`, {
          cause: error,
          context: { attempts: attempt },
        });
      }
      const delayMs = computeRetryDelayMs(policy, attempt);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
