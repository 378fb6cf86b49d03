/**
 * Waiting helpers for bus tests. `waitFor` is @chatmesh/testing's (poll a condition instead of sleeping a fixed
 * time), re-exported so the contract suite's users need one import.
 */
export { waitFor, type WaitForOptions } from '@chatmesh/testing';

/** A promise with its resolve function exposed: a gate a test opens when it chooses. */
export function createGate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
