/**
 * The watch store contract: the memory store runs it as a unit test, the Redis store against real Redis,
 * so embedded mode cannot drift from stack mode.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WatchStore, WatcherDevice } from '../watch-store.js';

const T0 = 1_700_000_000_000;
const TTL = 60_000;
const opts = (nowMs = T0, replace = true, maxTargets = 100) => ({ replace, ttlMs: TTL, maxTargets, nowMs });
const watcher = (userId: string, deviceId = 'phone', connectionId = 'c1', gatewayId = 'gw-1'): WatcherDevice => ({
  userId,
  deviceId,
  gatewayId,
  connectionId,
});
const sortWatchers = (list: WatcherDevice[]): WatcherDevice[] =>
  [...list].sort((a, b) => `${a.userId}/${a.deviceId}`.localeCompare(`${b.userId}/${b.deviceId}`));

/** Registers the contract tests; `make` gives a fresh, empty store for each test. */
export function runWatchStoreContract(
  name: string,
  make: () => Promise<{ store: WatchStore; dispose: () => Promise<void> }>,
): void {
  describe(name, () => {
    const withStore = (fn: (store: WatchStore) => Promise<void>) => async () => {
      const { store, dispose } = await make();
      try {
        await fn(store);
      } finally {
        await dispose();
      }
    };

    it(
      'subscribe indexes watchers by subject; replace drops old targets; add merges for the same connection',
      withStore(async (store) => {
        assert.deepEqual(await store.subscribe(watcher('alice'), ['bob', 'carol'], opts()), ['bob', 'carol']);
        await store.subscribe(watcher('dave', 'laptop', 'd1', 'gw-2'), ['bob'], opts());
        assert.deepEqual(sortWatchers(await store.watchersOf('bob', T0)), [
          watcher('alice'),
          watcher('dave', 'laptop', 'd1', 'gw-2'),
        ]);
        assert.deepEqual(await store.watchersOf('carol', T0), [watcher('alice')]);
        // Replace: carol is no longer watched by alice.
        assert.deepEqual(await store.subscribe(watcher('alice'), ['bob', 'erin'], opts()), ['bob', 'erin']);
        assert.deepEqual(await store.watchersOf('carol', T0), []);
        assert.deepEqual(await store.watchersOf('erin', T0), [watcher('alice')]);
        // Add (same connection): merged, newest first.
        assert.deepEqual((await store.subscribe(watcher('alice'), ['frank'], opts(T0, false))).sort(), [
          'bob',
          'erin',
          'frank',
        ]);
        assert.deepEqual((await store.targetsOf('alice', 'phone', T0)).sort(), ['bob', 'erin', 'frank']);
        // Add from a new connection of the device: starts afresh.
        assert.deepEqual(await store.subscribe(watcher('alice', 'phone', 'c2'), ['gina'], opts(T0, false)), ['gina']);
        assert.deepEqual(await store.watchersOf('bob', T0), [watcher('dave', 'laptop', 'd1', 'gw-2')]);
        assert.deepEqual(await store.watchersOf('gina', T0), [watcher('alice', 'phone', 'c2')]);
        // An empty replace removes everything.
        assert.deepEqual(await store.subscribe(watcher('alice', 'phone', 'c2'), [], opts()), []);
        assert.deepEqual(await store.watchersOf('gina', T0), []);
        assert.deepEqual(await store.targetsOf('alice', 'phone', T0), []);
      }),
    );

    it(
      'at most maxTargets are kept (the newest), and devices of one user are separate watchers',
      withStore(async (store) => {
        assert.deepEqual(await store.subscribe(watcher('alice'), ['a', 'b', 'c'], opts(T0, true, 2)), ['a', 'b']);
        assert.deepEqual(await store.subscribe(watcher('alice'), ['d'], opts(T0, false, 2)), ['d', 'a']);
        await store.subscribe(watcher('alice', 'laptop', 'l1'), ['a'], opts());
        assert.deepEqual(sortWatchers(await store.watchersOf('a', T0)), [
          watcher('alice', 'laptop', 'l1'),
          watcher('alice'),
        ]);
        assert.deepEqual(await store.watchersOf('b', T0), []);
      }),
    );

    it(
      "unsubscribeConnection drops only that connection's subscriptions",
      withStore(async (store) => {
        await store.subscribe(watcher('alice', 'phone', 'c2'), ['bob'], opts());
        assert.equal(await store.unsubscribeConnection('alice', 'phone', 'c1'), false, 'a stale close does nothing');
        assert.deepEqual(await store.watchersOf('bob', T0), [watcher('alice', 'phone', 'c2')]);
        assert.equal(await store.unsubscribeConnection('alice', 'phone', 'c2'), true);
        assert.deepEqual(await store.watchersOf('bob', T0), []);
        assert.equal(await store.unsubscribeConnection('alice', 'phone', 'c2'), false);
      }),
    );

    it(
      'subscriptions expire after their TTL and a new subscribe renews them',
      withStore(async (store) => {
        await store.subscribe(watcher('alice'), ['bob'], opts(T0));
        await store.subscribe(watcher('carol'), ['bob'], opts(T0 + TTL / 2));
        assert.deepEqual(await store.watchersOf('bob', T0 + TTL + 1), [watcher('carol')]);
        assert.deepEqual(await store.targetsOf('alice', 'phone', T0 + TTL + 1), []);
        assert.deepEqual(await store.targetsOf('carol', 'phone', T0 + TTL + 1), ['bob']);
        assert.deepEqual(await store.watchersOf('bob', T0 + TTL / 2 + TTL), []);
      }),
    );

    it(
      'announce online and offline report transitions only once',
      withStore(async (store) => {
        assert.equal(await store.isAnnounced('bob'), false);
        assert.equal(await store.announceOnline('bob', T0 + 10), true);
        assert.equal(await store.announceOnline('bob', T0 + 20), false, 'already announced');
        assert.equal(await store.isAnnounced('bob'), true);
        assert.equal(await store.announceOffline('bob'), true);
        assert.equal(await store.announceOffline('bob'), false, 'already offline');
        assert.equal(await store.isAnnounced('bob'), false);
      }),
    );

    it(
      'claimDue hands each due user to one claimer and moves its check; an ONLINE meanwhile wins over the claimed removal',
      withStore(async (store) => {
        await store.announceOnline('a', T0 + 1);
        await store.announceOnline('b', T0 + 2);
        await store.announceOnline('c', T0 + 3);
        await store.announceOnline('later', T0 + 1_000);
        const [first, second] = await Promise.all([
          store.claimDue(T0 + 3, T0 + 500, 2),
          store.claimDue(T0 + 3, T0 + 501, 2),
        ]);
        const all = [...first!, ...second!].sort();
        assert.deepEqual(all, ['a', 'b', 'c'], 'each due user claimed exactly once');
        assert.deepEqual(await store.claimDue(T0 + 3, T0 + 600, 10), [], 'nothing due until the new check time');
        // A claimed removal succeeds while the claim holds...
        const claimedAt = first!.includes('a') ? T0 + 500 : T0 + 501;
        assert.equal(await store.announceOffline('a', claimedAt), true);
        // ...but not once an ONLINE moved the check time.
        const bAt = first!.includes('b') ? T0 + 500 : T0 + 501;
        await store.announceOnline('b', T0 + 9_999);
        assert.equal(await store.announceOffline('b', bAt), false);
        assert.equal(await store.isAnnounced('b'), true);
        assert.deepEqual((await store.claimDue(T0 + 1_000, T0 + 2_000, 10)).sort(), ['c', 'later']);
      }),
    );
  });
}
