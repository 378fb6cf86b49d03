import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError, createMemoryBus, MEMORY_BUS_DEFAULTS } from '../index.js';
import { createGate, encodeDeadLetterJson, waitFor } from '../testing/index.js';

const value = (bytes: number, fill = 'x') => Buffer.from(fill.repeat(bytes));

describe('memory bus: bounded retention, like Kafka', () => {
  it('keeps at most maxBytes per partition: the oldest records go and the low watermark moves', async () => {
    const bus = createMemoryBus({ retention: { maxBytes: 1_000, maxAgeMs: 3_600_000 } });
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      for (let i = 0; i < 50; i++) await bus.producer.send('t', [{ key: null, value: value(100) }]);
      const [offsets] = await bus.admin.fetchTopicOffsets('t');
      assert.equal(offsets!.high, '50');
      assert.equal(offsets!.low, '40', '10 records of 100 bytes fit in 1,000 bytes');
      const seen: string[] = [];
      const subscription = await bus.subscribe({
        groupId: 'late',
        topics: ['t'],
        fromBeginning: true,
        deadLetter: { encode: encodeDeadLetterJson },
        handler: async (record) => void seen.push(record.offset),
      });
      await subscription.ready;
      await waitFor(() => seen.length === 10);
      assert.deepEqual(seen, ['40', '41', '42', '43', '44', '45', '46', '47', '48', '49']);
    } finally {
      await bus.close();
    }
  });

  it('drops records older than maxAgeMs at the next append', async () => {
    const bus = createMemoryBus({ retention: { maxBytes: 1_000_000, maxAgeMs: 50 } });
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      await bus.producer.send('t', [{ key: 'a', value: value(10) }]);
      await bus.producer.send('t', [{ key: 'a', value: value(10) }]);
      await new Promise((resolve) => setTimeout(resolve, 80));
      await bus.producer.send('t', [{ key: 'a', value: value(10) }]);
      const [offsets] = await bus.admin.fetchTopicOffsets('t');
      assert.deepEqual([offsets!.low, offsets!.high], ['2', '3']);
    } finally {
      await bus.close();
    }
  });

  for (const fromBeginning of [true, false]) {
    it(`a consumer that falls behind retention is reset as Kafka resets it (fromBeginning: ${fromBeginning})`, async () => {
      const resets: Array<{ from: number; to: number }> = [];
      const bus = createMemoryBus({
        retention: { maxBytes: 500, maxAgeMs: 3_600_000 },
        instrumentation: { onOffsetReset: ({ from, to }) => void resets.push({ from, to }) },
      });
      try {
        await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
        const gate = createGate();
        const seen: string[] = [];
        const subscription = await bus.subscribe({
          groupId: 'slow',
          topics: ['t'],
          fromBeginning,
          deadLetter: { encode: encodeDeadLetterJson },
          handler: async (record) => {
            seen.push(record.offset);
            if (record.offset === '0') await gate.promise;
          },
        });
        await subscription.ready;
        await bus.producer.send('t', [{ key: null, value: value(100, '0') }]);
        await waitFor(() => seen.length === 1);
        // While the consumer is stuck on offset 0, 20 more records push offsets 1-15 out of retention.
        for (let i = 1; i <= 20; i++)
          await bus.producer.send('t', [{ key: null, value: value(100, String.fromCharCode(64 + i)) }]);
        const [offsets] = await bus.admin.fetchTopicOffsets('t');
        gate.open();
        assert.deepEqual([offsets!.low, offsets!.high], ['16', '21']);
        if (fromBeginning) {
          await waitFor(() => seen.length === 6);
          assert.deepEqual(seen, ['0', '16', '17', '18', '19', '20'], 'earliest retained, then on');
          assert.deepEqual(resets, [{ from: 1, to: 16 }]);
        } else {
          await waitFor(() => resets.length === 1);
          assert.deepEqual(resets, [{ from: 1, to: 21 }]);
          await bus.producer.send('t', [{ key: null, value: value(100, 'n') }]);
          await waitFor(() => seen.length === 2);
          assert.deepEqual(seen, ['0', '21'], 'latest: only what comes after the reset');
        }
      } finally {
        await bus.close();
      }
    });
  }

  it('has defaults that bound every partition, refuses bad limits, and keeps everything with null', async () => {
    assert.ok(MEMORY_BUS_DEFAULTS.retention.maxBytes > 0 && MEMORY_BUS_DEFAULTS.retention.maxAgeMs > 0);
    assert.throws(
      () => createMemoryBus({ retention: { maxBytes: 0, maxAgeMs: 1 } }),
      (error: unknown) => error instanceof BusError && error.code === 'CM_ERR_BUS_INVALID_OPTIONS',
    );
    const bus = createMemoryBus({ retention: null });
    try {
      await bus.admin.createTopics([{ name: 't', partitions: 1 }]);
      for (let i = 0; i < 5; i++) await bus.producer.send('t', [{ key: null, value: value(1_000_000) }]);
      const [offsets] = await bus.admin.fetchTopicOffsets('t');
      assert.deepEqual([offsets!.low, offsets!.high], ['0', '5']);
    } finally {
      await bus.close();
    }
  });
});
