/**
 * The dlq tool against real Kafka and the schema registry, through its real connection (KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL): dead letters parked by a failing typed subscription are listed, shown, replayed
 * once to the original topic where the fixed consumer handles them, and refused the second time by a
 * new process. The twins have fixed names, so the run has a Kafka broker of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createKafkaBus, type Bus, type BusRecord } from '@chatmesh/bus';
import { ChatmeshError } from '@chatmesh/errors';
import { subscribeTyped } from '@chatmesh/runtime';
import {
  TOPICS,
  createRegistryCodec,
  deadLetterTopicOf,
  topicSpecs,
  valueSubjectOf,
  type DeadLetter,
  type PushRequest,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { startRunKafka } from '@chatmesh/system-tests';
import { startSchemaRegistry, waitFor, type KafkaServer, type SchemaRegistryServer } from '@chatmesh/testing';
import kafkajs from 'kafkajs';
import { EXIT_CODES, READER_GROUP_PREFIX, REPLAYED_FROM_HEADER, markerTopicOf, runDlqCli } from '../index.js';

const PUSH = TOPICS.pushRequests.name;
const PUSH_DLQ = deadLetterTopicOf(PUSH);
const GROUP = 'push-under-test';

let kafka: KafkaServer;
let registry: SchemaRegistryServer;
let bus: Bus;
let codec: SchemaCodec;

before(async () => {
  kafka = await startRunKafka();
  registry = await startSchemaRegistry();
  bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'dlq-test', logLevel: 'nothing' });
  codec = createRegistryCodec({ url: registry.url });
  await bus.admin.createTopics(topicSpecs());
  await codec.prepare([PUSH, PUSH_DLQ, 'receipts.dlq'].map(valueSubjectOf));
});

after(async () => {
  await bus?.close();
  await registry?.stop();
  await kafka?.stop();
});

/** One command line, as `npm run dlq` runs it: its own Kafka and registry connections from the environment. */
async function dlq(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runDlqCli(argv, {
    env: { KAFKA_BROKERS: kafka.brokers.join(','), SCHEMA_REGISTRY_URL: registry.url },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

async function highWatermark(topic: string): Promise<number> {
  return (await bus.admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0);
}

function request(userId: string): PushRequest {
  return {
    userId,
    requestId: `req-${userId}`,
    chatId: null,
    unreadCount: 1,
    newMessageCount: 1,
    upToInboxSeq: null,
    targets: [],
    createdAtMs: Date.now(),
  };
}

describe('dlq on Kafka and the schema registry', () => {
  test('list, show, replay once after the fix, refuse the second replay and the receipts notice', async () => {
    // A consumer that fails for alice (retries, then the twin) and cannot decode the garbage record.
    let broken = true;
    const handled: Array<{ value: PushRequest; record: BusRecord }> = [];
    const consumer = await subscribeTyped<PushRequest>({
      bus,
      codec,
      groupId: GROUP,
      topics: [PUSH],
      retry: { maxAttempts: 2, initialDelayMs: 10 },
      handler: async (value, record) => {
        if (broken && value.userId === 'alice') throw new ChatmeshError('CM_ERR_STORE_UNAVAILABLE', 'store down');
        handled.push({ value, record });
      },
    });
    try {
      await consumer.ready;
      await bus.producer.send(PUSH, [
        { key: 'alice', value: await codec.encode(valueSubjectOf(PUSH), request('alice')), headers: { h: 'a' } },
        { key: 'bob', value: await codec.encode(valueSubjectOf(PUSH), request('bob')) },
        { key: 'mallory', value: Buffer.from('not avro') },
      ]);
      await waitFor(async () => (await highWatermark(PUSH_DLQ)) === 2 && handled.length === 1, {
        timeoutMs: 60_000,
        description: 'alice and the garbage parked on push.requests.dlq, bob handled',
      });
      const notice: DeadLetter = {
        originalTopic: TOPICS.chatEvents.name,
        originalPartition: 0,
        originalOffset: '-1',
        originalKey: 'chat-1',
        originalValue: Buffer.from([0, 0, 0, 0, 9]),
        originalHeaders: {},
        originalTimestampMs: Date.now(),
        groupId: 'receipts',
        errorCode: 'CM_ERR_RECEIPTS_UNDELIVERED',
        errorMessage: 'not delivered',
        attempts: 1,
        failedAtMs: Date.now(),
      };
      await bus.producer.send('receipts.dlq', [
        { key: 'chat-1', value: await codec.encode(valueSubjectOf('receipts.dlq'), notice) },
      ]);

      const list = await dlq(['list']);
      assert.equal(list.code, EXIT_CODES.ok, list.stderr);
      assert.match(
        list.stdout,
        /push\.requests\.dlq\s+0\s+push\.requests\[\d\]@\d+\s+alice\s+push-under-test\s+CM_ERR_STORE_UNAVAILABLE\s+2\s+\S+\s+\{"userId":"alice"/,
      );
      assert.match(
        list.stdout,
        /push\.requests\.dlq\s+1\s+.*mallory\s+push-under-test\s+CM_ERR_SCHEMA_DECODE\s+1\s+\S+\s+\(8 bytes, undecodable\)/,
      );
      assert.match(
        list.stdout,
        /receipts\.dlq\s+0\s+chat\.events\[0\]@-1\s+chat-1\s+receipts\s+CM_ERR_RECEIPTS_UNDELIVERED/,
      );

      const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { groups } = await admin.listGroups();
        assert.deepEqual(
          groups.filter((group) => group.groupId.startsWith(READER_GROUP_PREFIX)),
          [],
          'the throwaway reader group is gone',
        );
      } finally {
        await admin.disconnect();
      }

      const show = await dlq(['show', PUSH_DLQ, '0']);
      assert.equal(show.code, EXIT_CODES.ok, show.stderr);
      const shown = JSON.parse(show.stdout) as { envelope: DeadLetter; value: PushRequest };
      assert.equal(shown.envelope.originalKey, 'alice');
      assert.deepEqual(shown.envelope.originalHeaders, { h: 'a' });
      assert.equal(shown.value.requestId, 'req-alice');

      const dry = await dlq(['replay', PUSH_DLQ, '--dry-run']);
      assert.equal(dry.code, EXIT_CODES.ok, dry.stderr);
      assert.match(dry.stdout, /2 would be replayed/);

      // The bug is fixed: replay alice only (the garbage would fail again).
      broken = false;
      const before = await highWatermark(PUSH);
      const replay = await dlq(['replay', PUSH_DLQ, '--key', 'alice', '--yes']);
      assert.equal(replay.code, EXIT_CODES.ok, replay.stderr);
      assert.match(replay.stdout, /replayed push\.requests\.dlq\/0 -> push\.requests\[\d\]@\d+/);
      await waitFor(() => handled.some(({ value }) => value.userId === 'alice'), {
        timeoutMs: 30_000,
        description: 'the replayed alice request handled by the fixed consumer',
      });
      const replayed = handled.find(({ value }) => value.userId === 'alice')!.record;
      assert.deepEqual(replayed.headers, { h: 'a', [REPLAYED_FROM_HEADER]: `${PUSH_DLQ}/0` });
      assert.equal(await highWatermark(markerTopicOf(PUSH_DLQ)), 1);

      const again = await dlq(['replay', PUSH_DLQ, '--key', 'alice', '--yes']);
      assert.equal(again.code, EXIT_CODES.refused, again.stderr);
      assert.match(again.stdout, /refused push\.requests\.dlq\/0: \[CM_ERR_DLQ_ALREADY_REPLAYED\]/);
      assert.equal(await highWatermark(PUSH), before + 1, 'alice was re-produced once');

      const receipts = await dlq(['replay', 'receipts.dlq', '--yes']);
      assert.equal(receipts.code, EXIT_CODES.refused);
      assert.match(receipts.stdout, /\[CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE\]/);
      assert.equal(await highWatermark(TOPICS.chatEvents.name), 0);
    } finally {
      await consumer.stop();
    }
  });

  test('an unreachable broker fails with exit 1 and the bus error code', async () => {
    let stderr = '';
    const code = await runDlqCli(['--timeout', '5000', 'list'], {
      env: { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: registry.url },
      stdout: { write: () => undefined },
      stderr: { write: (text: string) => (stderr += text) },
    });
    assert.equal(code, EXIT_CODES.failed);
    assert.match(stderr, /\[CM_ERR_BUS_BROKER_UNAVAILABLE\]/);
  });
});
