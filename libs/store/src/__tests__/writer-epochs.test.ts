import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryStore, WriterEpochs } from '../index.js';

test('one claim per ownership, confirmed after the claim; a refused confirmation is not cached', async () => {
  const store = createMemoryStore();
  const epochs = new WriterEpochs(store.writerEpochs, 'chat_log');
  const order: string[] = [];
  const confirm = async (): Promise<void> => void order.push('confirm');
  const first = await epochs.epochFor('member-1:1:p0', confirm);
  assert.equal(await epochs.epochFor('member-1:1:p0', confirm), first, 'cached for the same ownership');
  assert.deepEqual(order, ['confirm']);
  const second = await epochs.epochFor('member-1:2:p0', confirm);
  assert.ok(second > first, 'a new ownership gets a higher epoch');
  let fenced = true;
  const refuse = async (): Promise<void> => {
    if (fenced) throw Object.assign(new Error('fenced'), { code: 'CM_ERR_BUS_PRODUCER_FENCED' });
  };
  await assert.rejects(epochs.epochFor('member-1:3:p0', refuse), /fenced/);
  fenced = false;
  const retried = await epochs.epochFor('member-1:3:p0', refuse);
  assert.ok(retried > second, 'the refused claim is forgotten and the next record claims again');
});

test('claims of several ownerships run one at a time', async () => {
  const store = createMemoryStore();
  let running = 0;
  let maxRunning = 0;
  const slowStore = {
    claim: async (name: string) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return store.writerEpochs.claim(name);
    },
  };
  const epochs = new WriterEpochs(slowStore, 'inbox_log');
  const claimed = await Promise.all(['a', 'b', 'c', 'd'].map((id) => epochs.epochFor(id)));
  assert.equal(maxRunning, 1);
  assert.deepEqual(
    [...claimed].sort((x, y) => x - y),
    [1, 2, 3, 4],
  );
});
