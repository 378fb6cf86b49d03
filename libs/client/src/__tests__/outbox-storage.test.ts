import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLocalStorageOutboxStorage,
  createMemoryOutboxStorage,
  type OutboxEntry,
  type OutboxStorage,
  type StorageLike,
} from '../index.js';

function entry(n: number): OutboxEntry {
  return {
    requestId: `r${n}`,
    enqueuedAtMs: n,
    command: { type: 'send', requestId: `r${n}`, chatId: 'c1', clientMessageId: `r${n}`, body: `b${n}` },
  };
}

function fakeLocalStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

for (const [name, make] of [
  ['memory', () => createMemoryOutboxStorage()],
  ['localStorage', () => createLocalStorageOutboxStorage({ storage: fakeLocalStorage(), key: 'k' })],
] as Array<[string, () => OutboxStorage]>) {
  test(`${name} outbox keeps order, replaces by requestId and removes`, async () => {
    const storage = make();
    await storage.put(entry(1));
    await storage.put(entry(2));
    await storage.put(entry(3));
    await storage.remove('r2');
    await storage.remove('unknown');
    assert.deepEqual(
      (await storage.load()).map((e) => e.requestId),
      ['r1', 'r3'],
    );
  });
}

test('the localStorage outbox survives a new instance on the same storage and ignores corrupt data', async () => {
  const local = fakeLocalStorage();
  await createLocalStorageOutboxStorage({ storage: local, key: 'k' }).put(entry(1));
  assert.deepEqual(await createLocalStorageOutboxStorage({ storage: local, key: 'k' }).load(), [entry(1)]);
  local.setItem('k', '{not json');
  assert.deepEqual(await createLocalStorageOutboxStorage({ storage: local, key: 'k' }).load(), []);
  await createLocalStorageOutboxStorage({ storage: local, key: 'k' }).remove('r1');
  assert.equal(local.map.has('k'), false);
});
