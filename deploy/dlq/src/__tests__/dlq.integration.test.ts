/**
 * The dlq tool against real Kafka and the schema registry, through its real connection (KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL): dead letters parked by a failing typed subscription are listed, shown, replayed
 * once to the original topic where the fixed consumer handles them, and refused the second time by a
 * new process. The twins have fixed names, so the run has a namespace of its own (CHATMESH_NAMESPACE, which the
 * tool reads like the services) on the shared broker.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createKafkaBus, createNamespacedBus, type Bus, type BusRecord } from '@chatmesh/bus';
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
import {
  startKafka,
  startSchemaRegistry,
  waitFor,
  type KafkaServer,
  type SchemaRegistryServer,
} from '@chatmesh/testing';
import kafkajs from 'kafkajs';
import { formatPosition } from '../dead-letters.js';
import { EXIT_CODES, READER_GROUP_PREFIX, REPLAYED_FROM_HEADER, markerTopicOf, runDlqCli } from '../index.js';

const PUSH = TOPICS.pushRequests.name;
const PUSH_DLQ = deadLetterTopicOf(PUSH);
/** This run's namespace: every topic and group below is `<NAMESPACE>.<name>` on the broker. */
const NAMESPACE = `dlq-it-${randomUUID().slice(0, 8)}`;

let kafka: KafkaServer;
let registry: SchemaRegistryServer;
let bus: Bus;
let codec: SchemaCodec;

before(async () => {
  kafka = await startKafka();
  registry = await startSchemaRegistry();
  bus = createNamespacedBus(
    createKafkaBus({ brokers: kafka.brokers, clientId: 'dlq-test', logLevel: 'nothing' }),
    NAMESPACE,
  );
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
    env: { KAFKA_BROKERS: kafka.brokers.join(','), SCHEMA_REGISTRY_URL: registry.url, CHATMESH_NAMESPACE: NAMESPACE },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
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
    // Under `npm test` the broker is shared with the other packages' tests: everything here is told apart
    // by keys and a group of its own, never by absolute offsets or counts.
    const run = randomUUID().slice(0, 8);
    const alice = `alice-${run}`;
    const mallory = `mallory-${run}`;
    const chat = `chat-${run}`;
    let broken = true;
    const handled: Array<{ value: PushRequest; record: BusRecord }> = [];
    // A consumer that fails for alice (retries, then the twin) and cannot decode mallory's garbage.
    const consumer = await subscribeTyped({
      bus,
      codec,
      groupId: `push-under-test-${run}`,
      topics: [PUSH],
      retry: { maxAttempts: 2, initialDelayMs: 10 },
      handler: async (value, record) => {
        if (!value.userId.endsWith(run)) return;
        if (broken && value.userId === alice) throw new ChatmeshError('CM_ERR_STORE_UNAVAILABLE', 'store down');
        handled.push({ value, record });
      },
    });
    try {
      await bus.producer.send(PUSH, [
        { key: alice, value: await codec.encode(valueSubjectOf(PUSH), request(alice)), headers: { h: 'a' } },
        { key: `bob-${run}`, value: await codec.encode(valueSubjectOf(PUSH), request(`bob-${run}`)) },
        { key: mallory, value: Buffer.from('not avro') },
      ]);
      const notice: DeadLetter = {
        originalTopic: TOPICS.chatEvents.name,
        originalPartition: 0,
        originalOffset: '-1',
        originalKey: chat,
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
        { key: chat, value: await codec.encode(valueSubjectOf('receipts.dlq'), notice) },
      ]);

      type Row = { twin: string; partition: number; offset: string; envelope: DeadLetter | null; replayed: unknown };
      const ours = (rows: Row[]) => rows.filter((row) => row.envelope?.originalKey?.endsWith(run));
      const parked = await waitFor(
        async () => {
          const listed = await dlq(['list', '--topic', PUSH_DLQ, '--json', '--limit', '1000000']);
          assert.equal(listed.code, EXIT_CODES.ok, listed.stderr);
          const rows = ours(JSON.parse(listed.stdout) as Row[]);
          return rows.length === 2 && handled.length === 1 ? rows : undefined;
        },
        { timeoutMs: 60_000, description: 'alice and the garbage parked on push.requests.dlq, bob handled' },
      );
      // As the tool prints and takes positions: `<offset>`, or `<partition>:<offset>` on a twin with several partitions.
      const aliceAt = formatPosition(parked.find((row) => row.envelope!.originalKey === alice)!);

      const list = await dlq(['--timeout', '120000', 'list', '--limit', '1000000']);
      assert.equal(list.code, EXIT_CODES.ok, list.stderr);
      // A twin another run created with several partitions shows positions as <partition>:<offset>.
      const line = (key: string) => list.stdout.split('\n').find((row) => row.includes(` ${key} `)) ?? '';
      assert.match(
        line(alice),
        /^push\.requests\.dlq\s+(?:\d+:)?\d+\s+push\.requests\[\d+\]@\d+\s+\S+\s+push-under-test-\S+\s+CM_ERR_STORE_UNAVAILABLE\s+2\s+\S+\s+\{"userId":"alice-/,
      );
      assert.match(line(mallory), /CM_ERR_SCHEMA_DECODE\s+1\s+\S+\s+\(8 bytes, undecodable\)$/);
      assert.match(
        line(chat),
        /^receipts\.dlq\s+(?:\d+:)?\d+\s+chat\.events\[0\]@-1\s+\S+\s+receipts\s+CM_ERR_RECEIPTS_UNDELIVERED/,
      );

      const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { groups } = await admin.listGroups();
        assert.deepEqual(
          groups.filter((group) => group.groupId.startsWith(`${NAMESPACE}.${READER_GROUP_PREFIX}`)),
          [],
          'the throwaway reader groups are gone',
        );
      } finally {
        await admin.disconnect();
      }

      const show = await dlq(['show', PUSH_DLQ, aliceAt]);
      assert.equal(show.code, EXIT_CODES.ok, show.stderr);
      const shown = JSON.parse(show.stdout) as { envelope: DeadLetter; value: PushRequest };
      assert.equal(shown.envelope.originalKey, alice);
      assert.deepEqual(shown.envelope.originalHeaders, { h: 'a' });
      assert.equal(shown.value.requestId, `req-${alice}`);

      const dry = await dlq(['replay', PUSH_DLQ, '--key', alice, '--dry-run']);
      assert.equal(dry.code, EXIT_CODES.ok, dry.stderr);
      assert.match(dry.stdout, /1 would be replayed/);

      // The bug is fixed: replay alice (mallory's garbage would only fail again).
      broken = false;
      const replay = await dlq(['replay', PUSH_DLQ, '--key', alice, '--yes']);
      assert.equal(replay.code, EXIT_CODES.ok, replay.stderr);
      assert.match(
        replay.stdout,
        new RegExp(`replayed push\\.requests\\.dlq/${aliceAt} -> push\\.requests\\[\\d+\\]@\\d+`),
      );
      await waitFor(() => handled.some(({ value }) => value.userId === alice), {
        timeoutMs: 30_000,
        description: 'the replayed alice request handled by the fixed consumer',
      });
      const replayed = handled.find(({ value }) => value.userId === alice)!.record;
      assert.deepEqual(replayed.headers, { h: 'a', [REPLAYED_FROM_HEADER]: `${PUSH_DLQ}/${aliceAt}` });
      assert.ok((await bus.admin.listTopics()).includes(markerTopicOf(PUSH_DLQ)));
      const marked = JSON.parse((await dlq(['show', PUSH_DLQ, aliceAt])).stdout) as {
        replayed: { to: { topic: string; partition: number; offset: string } };
      };
      assert.deepEqual(marked.replayed.to, { topic: PUSH, partition: replayed.partition, offset: replayed.offset });

      const again = await dlq(['replay', PUSH_DLQ, '--key', alice, '--yes', '--json']);
      assert.equal(again.code, EXIT_CODES.refused, again.stderr);
      assert.deepEqual(
        (JSON.parse(again.stdout) as Array<{ status: string; code: string }>).map((o) => [o.status, o.code]),
        [['refused', 'CM_ERR_DLQ_ALREADY_REPLAYED']],
        'a new process refuses: the marker is on Kafka',
      );

      const receipts = await dlq(['replay', 'receipts.dlq', '--key', chat, '--yes']);
      assert.equal(receipts.code, EXIT_CODES.refused);
      assert.match(receipts.stdout, /\[CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE\]/);
      assert.match(receipts.stdout, /0 replayed, 1 refused/);
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
