/**
 * The kafkajs patch the project carries (patches/kafkajs+2.2.4.patch, applied by `postinstall`): a transactional
 * producer remembers its transaction coordinator instead of sending FindCoordinator before every AddPartitionsToTxn
 * and EndTxn. Counted with kafkajs's own request instrumentation against a real broker (`startKafka()`).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { startKafka, type KafkaServer } from '@chatmesh/testing';

describe('kafkajs patch: the transaction coordinator is remembered', () => {
  let kafka: KafkaServer;
  let client: kafkajs.Kafka;
  const topic = `test-txn-coordinator-${randomUUID().slice(0, 8)}`;

  before(async () => {
    kafka = await startKafka();
    client = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
  });
  after(async () => {
    await kafka?.stop();
  });

  it('eleven transactions send no FindCoordinator of their own, and every committed record is read', async () => {
    const producer = client.producer({
      transactionalId: `test-txn-${randomUUID()}`,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    const requests: string[] = [];
    producer.on(producer.events.REQUEST, (event) => requests.push(event.payload.apiName));
    await producer.connect();
    try {
      for (let i = 0; i < 10; i++) {
        const txn = await producer.transaction();
        await txn.send({ topic, messages: [{ key: `k${i}`, value: `v${i}`, partition: i % 2 }] });
        await txn.commit();
      }
      // An aborted one too: EndTxn goes to the remembered coordinator as well.
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'gone', value: 'gone', partition: 0 }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    const count = (api: string): number => requests.filter((name) => name === api).length;
    assert.equal(count('EndTxn'), 11);
    assert.ok(count('AddPartitionsToTxn') >= 11, requests.join(','));
    // kafkajs names FindCoordinator requests 'GroupCoordinator' (the API's old name). One lookup per InitProducerId
    // (kafkajs initialises twice on connect), none per transaction: unpatched, this run sends 24 more.
    assert.ok(count('GroupCoordinator') <= count('InitProducerId'), requests.join(','));

    const consumer = client.consumer({ groupId: `test-txn-reader-${randomUUID()}` });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.key)) });
    const deadline = Date.now() + 30_000;
    while (seen.length < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await consumer.disconnect();
    assert.deepEqual(
      [...seen].sort(),
      Array.from({ length: 10 }, (_, i) => `k${i}`).sort(),
      'committed records read, the aborted one not',
    );
  });
});
