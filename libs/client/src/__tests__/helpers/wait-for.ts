import { waitFor as waitForCondition } from '@chatmesh/testing';

/** Polls `condition` until it holds, or fails with `what` after `timeoutMs` (@chatmesh/testing's `waitFor`). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await waitForCondition(condition, { timeoutMs, intervalMs: 5, description: what });
}
