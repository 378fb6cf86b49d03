/**
 * Waiting helpers for bus tests: poll a condition instead of sleeping a fixed time
 * (kafkajs `testHelpers` `waitFor`). Local until @chatmesh/testing ships its own.
 */
import { BusError } from '../errors.js';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default 10 */
  readonly intervalMs?: number;
  /** Describes what was awaited, for the timeout error. */
  readonly description?: string;
}

/**
 * Resolves with the first truthy value of `condition`, polled every `intervalMs`.
 * @throws BusError `CM_ERR_COMMON_TIMEOUT` after `timeoutMs`.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new BusError(
        'CM_ERR_COMMON_TIMEOUT',
        `Timed out after ${timeoutMs} ms waiting for ${options.description ?? 'a condition'}`,
        {
          cause: lastError,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A promise with its resolve function exposed: a gate a test opens when it chooses. */
export function createGate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
