import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createMemoryBus } from '../index.js';
import { encodeDeadLetterJson, waitFor } from '../testing/index.js';

it('fans out 1,024 inbox records per message cheaply, in order per key, with one wake-up per partition', async () => {
  const bus = createMemoryBus();
  try {
    await bus.admin.createTopics([{ name: 'user.inbox', partitions: 12 }]);
    const received = new Map<string, number[]>();
    let count = 0;
    await bus.subscribe({
      groupId: 'inbox-sequencer',
      topics: ['user.inbox'],
      partitionsConcurrently: 4,
      deadLetter: { encode: encodeDeadLetterJson },
      handler: async (record) => {
        const seq = record.value!.readUInt32BE(0);
        const list = received.get(record.key!) ?? [];
        list.push(seq);
        received.set(record.key!, list);
        count++;
      },
    });
    const messages = 50;
    const members = 1_024;
    for (let seq = 0; seq < messages; seq++) {
      const value = Buffer.alloc(4);
      value.writeUInt32BE(seq);
      await bus.producer.send(
        'user.inbox',
        Array.from({ length: members }, (_, member) => ({ key: `user-${member}`, value })),
      );
    }
    // Speed is measured by load-tests/, never asserted here; the wait only bounds a hang.
    await waitFor(() => count === messages * members, { timeoutMs: 120_000, description: 'every inbox record' });
    for (const [key, seqs] of received)
      assert.deepEqual(
        seqs,
        Array.from({ length: messages }, (_, seq) => seq),
        key,
      );
    assert.equal(received.size, members);
  } finally {
    await bus.close();
  }
});
