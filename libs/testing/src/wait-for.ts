import { setTimeout as sleep } from 'node:timers/promises';

import { TestingError } from './errors.js';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 10000 */
  timeoutMs?: number;
  /** Pause between two checks. @default 50 */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("3 messages on topic x"). @default 'condition' */
  description?: string;
  /** Stops waiting early; the abort reason is thrown. */
  signal?: AbortSignal;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned), instead of sleeping a fixed time.
 * A predicate that throws counts as "not yet"; its last error becomes the timeout error's `cause`.
 * @throws TestingError CM_ERR_TESTING_WAIT_TIMEOUT after `timeoutMs`, with `description` in the message.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const description = options.description ?? 'condition';
  const startedMs = Date.now();
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    attempts += 1;
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, false | 0 | '' | null | undefined>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - startedMs >= timeoutMs) {
      const reason =
        lastError === undefined ? '' : `; last error: ${(lastError as Error)?.message ?? String(lastError)}`;
      throw new TestingError(
        'CM_ERR_TESTING_WAIT_TIMEOUT',
        `Timed out after ${timeoutMs} ms (${attempts} checks) waiting for ${description}${reason}`,
        { cause: lastError, context: { description, timeoutMs, attempts } },
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - (Date.now() - startedMs))));
  }
}
