import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryBus, type Bus, type BusRecord, type Subscription } from '@chatmesh/bus';
import type { ConfigError } from '@chatmesh/config';
import { ChatmeshError } from '@chatmesh/errors';
import { subscribeTyped } from '@chatmesh/runtime';
import {
  TOPICS,
  createLocalCodec,
  deadLetterTopicOf,
  topicDefinitions,
  topicSpecs,
  valueSubjectOf,
  type DeadLetter,
  type PushRequest,
  type SchemaCodec,
} from '@chatmesh/schemas';
import { waitFor } from '@chatmesh/testing';
import {
  EXIT_CODES,
  READER_GROUP_PREFIX,
  REPLAYED_FROM_HEADER,
  loadDlqConfig,
  markerTopicOf,
  runDlqCli,
  type DlqCliDeps,
} from '../index.js';

/** What `list --json` and `show` print for one dead letter. */
interface EntryJson {
  twin: string;
  partition: number;
  offset: string;
  /** Null for a bad envelope; typed as present because the tests read it where they know it is. */
  envelope: Omit<DeadLetter, 'originalValue'> & { originalValue: { bytes: number; base64: string }; failedAt: string };
  value: unknown;
  valueSchemaId: number | null;
  valueError: string;
  replayed: { to: { topic: string } };
}

/** What `replay --json` prints for one dead letter. */
interface OutcomeJson {
  offset: string;
  status: string;
  code?: string;
}

const PUSH = TOPICS.pushRequests.name;
const PUSH_DLQ = deadLetterTopicOf(PUSH);
const SERVICE_GROUP = 'push-under-test';

interface Stack {
  readonly bus: Bus;
  readonly codec: SchemaCodec;
  /** Runs one command line against the stack, as a fresh process would (new connection each time). */
  cli(argv: string[], extra?: Partial<DlqCliDeps>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Every record of a topic, oldest first. */
  records(topic: string): Promise<BusRecord[]>;
}

async function startStack(): Promise<Stack> {
  const bus = createMemoryBus();
  const codec = createLocalCodec();
  await bus.admin.createTopics(topicSpecs());
  await codec.prepare(topicDefinitions().map((definition) => definition.valueSubject));
  const records = async (topic: string): Promise<BusRecord[]> => {
    const offsets = await bus.admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((sum, { high }) => sum + Number(high), 0);
    const seen: BusRecord[] = [];
    if (total === 0) return seen;
    const subscription = await bus.subscribe({
      groupId: `test-reader-${Math.random()}`,
      topics: [topic],
      deadLetter: { encode: async () => Buffer.alloc(0), topicFor: (name) => name },
      handler: async (record) => void seen.push(record),
    });
    await waitFor(() => seen.length >= total, { description: `${total} records on ${topic}` });
    await subscription.stop();
    return seen.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
  };
  return {
    bus,
    codec,
    records,
    async cli(argv, extra = {}) {
      let stdout = '';
      let stderr = '';
      const code = await runDlqCli(argv, {
        env: {},
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        connect: async () => ({ bus, codec, close: async () => undefined }),
        ...extra,
      });
      return { code, stdout, stderr };
    },
  };
}

function pushRequest(userId: string, n: number): PushRequest {
  return {
    userId,
    requestId: `req-${n}`,
    chatId: `chat-${n}`,
    unreadCount: n,
    newMessageCount: 1,
    upToInboxSeq: n,
    targets: [],
    createdAtMs: 1_700_000_000_000 + n,
  };
}

/**
 * Parks records the way a service does: a typed subscription (the runtime every service uses) whose
 * handler keeps failing for `failing` users, plus one record whose bytes are not Avro at all.
 */
async function parkFailures(
  stack: Stack,
  options: { failing: string[]; fine?: string[]; garbage?: boolean },
): Promise<{ expected: number }> {
  const { bus, codec } = stack;
  const handled: string[] = [];
  const subscription: Subscription = await subscribeTyped({
    bus,
    codec,
    groupId: SERVICE_GROUP,
    topics: [PUSH],
    retry: { maxAttempts: 2, initialDelayMs: 1 },
    handler: async (value) => {
      if (options.failing.includes(value.userId)) {
        throw new ChatmeshError('CM_ERR_STORE_UNAVAILABLE', `cannot reach the store for ${value.userId}`);
      }
      handled.push(value.userId);
    },
  });
  let n = 0;
  for (const userId of [...options.failing, ...(options.fine ?? [])]) {
    n += 1;
    await bus.producer.send(PUSH, [
      {
        key: userId,
        value: await codec.encode(valueSubjectOf(PUSH), pushRequest(userId, n)),
        headers: { traceparent: `trace-${userId}` },
      },
    ]);
  }
  if (options.garbage) {
    await bus.producer.send(PUSH, [{ key: 'mallory', value: Buffer.from('not avro at all'), headers: {} }]);
  }
  const expected = options.failing.length + (options.garbage ? 1 : 0);
  await waitFor(
    async () =>
      Number((await bus.admin.fetchTopicOffsets(PUSH_DLQ))[0]!.high) === expected &&
      handled.length === (options.fine ?? []).length,
    { description: `${expected} dead letters on ${PUSH_DLQ}` },
  );
  await subscription.stop();
  return { expected };
}

async function noticeOnReceiptsDlq(stack: Stack): Promise<void> {
  const { bus, codec } = stack;
  const letter: DeadLetter = {
    originalTopic: TOPICS.chatEvents.name,
    originalPartition: 0,
    originalOffset: '-1',
    originalKey: 'chat-9',
    originalValue: Buffer.from([0, 0, 0, 0, 1, 2, 3]),
    originalHeaders: {},
    originalTimestampMs: 1_700_000_000_000,
    groupId: 'receipts',
    errorCode: 'CM_ERR_RECEIPTS_UNDELIVERED',
    errorMessage: 'message 4 of chat chat-9 was not delivered to bob',
    attempts: 1,
    failedAtMs: 1_700_000_100_000,
  };
  await bus.producer.send('receipts.dlq', [
    { key: 'chat-9', value: await codec.encode(valueSubjectOf('receipts.dlq'), letter) },
  ]);
}

describe('dlq list', () => {
  test('prints every twin holding dead letters: position, original, key, group, code, attempts, time, decoded preview or size', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice', 'bob'], fine: ['carol'], garbage: true });
    await noticeOnReceiptsDlq(stack);

    const { code, stdout, stderr } = await stack.cli(['list']);
    assert.equal(code, EXIT_CODES.ok, stderr);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^TWIN\s+AT\s+ORIGINAL\s+KEY\s+GROUP\s+CODE\s+ATTEMPTS\s+FAILED AT\s+REPLAYED\s+VALUE$/);
    assert.equal(lines.length, 1 + 4, stdout);
    const alice = lines.find((line) => line.includes(' alice '))!;
    assert.match(
      alice,
      /^push\.requests\.dlq\s+0\s+push\.requests\[\d\]@0\s+alice\s+push-under-test\s+CM_ERR_STORE_UNAVAILABLE\s+2\s+\d{4}-\d\d-\d\dT/,
    );
    assert.match(alice, /\{"userId":"alice","requestId":"req-1"/, 'the original value is decoded through the codec');
    const mallory = lines.find((line) => line.includes(' mallory '))!;
    assert.match(mallory, /CM_ERR_SCHEMA_DECODE\s+1\s+.*\(15 bytes, undecodable\)$/);
    assert.ok(!lines.some((line) => line.includes('carol')), 'a record handled fine is not dead-lettered');
    assert.match(stdout, /receipts\.dlq\s+0\s+chat\.events\[0\]@-1\s+chat-9\s+receipts\s+CM_ERR_RECEIPTS_UNDELIVERED/);

    const again = await stack.cli(['list']);
    assert.equal(again.stdout, stdout, 'each run reads the twins from the beginning: nothing was committed for it');
    const committed = await stack.bus.admin.fetchCommittedOffsets(SERVICE_GROUP, PUSH_DLQ);
    assert.deepEqual(committed, [{ partition: 0, offset: '-1' }], 'no service group moved on the twin');
  });

  test('--topic, --code, --since, --limit and --json select and shape the rows', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice', 'bob', 'dave'], garbage: true });
    await noticeOnReceiptsDlq(stack);

    const onlyReceipts = await stack.cli(['list', '--topic', 'receipts.dlq', '--json']);
    assert.equal(onlyReceipts.code, 0, onlyReceipts.stderr);
    const receipts = JSON.parse(onlyReceipts.stdout) as EntryJson[];
    assert.equal(receipts.length, 1);
    assert.equal(receipts[0]!.twin, 'receipts.dlq');
    assert.equal(receipts[0]!.envelope.errorCode, 'CM_ERR_RECEIPTS_UNDELIVERED');
    assert.equal(receipts[0]!.envelope.failedAt, new Date(1_700_000_100_000).toISOString());

    const decodeErrors: EntryJson[] = JSON.parse(
      (await stack.cli(['list', '--code', 'CM_ERR_SCHEMA_DECODE', '--json'])).stdout,
    );
    assert.deepEqual(
      decodeErrors.map((entry) => [entry.envelope.originalKey, entry.value, entry.envelope.originalValue.bytes]),
      [['mallory', null, 15]],
    );
    assert.match(decodeErrors[0]!.valueError, /CM_ERR_SCHEMA_DECODE/);

    // The notice was parked in 2023; the push failures just now.
    const recent: EntryJson[] = JSON.parse((await stack.cli(['list', '--since', '1h', '--json'])).stdout);
    assert.deepEqual(recent.map((entry) => entry.envelope.originalKey).sort(), ['alice', 'bob', 'dave', 'mallory']);
    const sinceIso: EntryJson[] = JSON.parse(
      (await stack.cli(['list', '--since', '2023-11-14T22:14:00Z', '--json'])).stdout,
    );
    assert.equal(sinceIso.length, 5);
    const future: EntryJson[] = JSON.parse(
      (await stack.cli(['list', '--since', '1h', '--json'], { now: () => Date.now() + 10 * 3_600_000 })).stdout,
    );
    assert.equal(future.length, 0, '--since counts back from the tool clock');

    const limited = await stack.cli(['list', '--topic', PUSH_DLQ, '--limit', '2']);
    assert.equal(limited.stdout.trim().split('\n').length, 1 + 2 + 1);
    assert.match(limited.stdout, / dave /);
    assert.match(limited.stdout, / mallory /);
    assert.match(limited.stdout, /the last 2 of 4 matching dead letters/);
  });

  test('each read uses a new throwaway group and hands it to forgetGroup once done', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice'] });
    const forgotten: string[] = [];
    const connect = async () => ({
      bus: stack.bus,
      codec: stack.codec,
      forgetGroup: async (groupId: string) => void forgotten.push(groupId),
      close: async () => undefined,
    });
    assert.equal((await stack.cli(['list'], { connect })).code, 0);
    assert.equal((await stack.cli(['show', PUSH_DLQ, '0'], { connect })).code, 0);
    assert.equal(forgotten.length, 2);
    assert.ok(forgotten.every((groupId) => groupId.startsWith(READER_GROUP_PREFIX)));
    assert.notEqual(forgotten[0], forgotten[1]);
  });

  test('a twin that cannot be read to its end within --timeout fails with CM_ERR_DLQ_READ_TIMEOUT', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice'] });
    // A bus whose consumers never see a record: the reader cannot reach the high watermark.
    const stuck: Bus = {
      ...stack.bus,
      subscribe: (options) => stack.bus.subscribe({ ...options, handler: async () => {} }),
    };
    const run = await stack.cli(['--timeout', '200', 'list'], {
      connect: async () => ({ bus: stuck, codec: stack.codec, close: async () => undefined }),
    });
    assert.equal(run.code, EXIT_CODES.failed);
    assert.match(run.stderr, /\[CM_ERR_DLQ_READ_TIMEOUT\] could not read push\.requests\.dlq to the end within 200 ms/);
  });

  test('an empty cluster and an unknown twin are told apart', async () => {
    const stack = await startStack();
    const empty = await stack.cli(['list']);
    assert.equal(empty.code, 0);
    assert.match(empty.stdout, /No dead letters in \d+ twin\(s\) match/);
    const unknown = await stack.cli(['list', '--topic', 'nope.dlq']);
    assert.equal(unknown.code, EXIT_CODES.notFound);
    assert.match(unknown.stderr, /\[CM_ERR_DLQ_NOT_A_TWIN\] the twin nope\.dlq does not exist/);
    const notTwin = await stack.cli(['list', '--topic', PUSH]);
    assert.equal(notTwin.code, EXIT_CODES.notFound);
    assert.match(notTwin.stderr, /is not a dead-letter twin/);
  });

  test('a twin record that is not a DeadLetter is listed, shown as such and never replayed', async () => {
    const stack = await startStack();
    await stack.bus.producer.send(PUSH_DLQ, [{ key: 'x', value: Buffer.from('junk') }]);
    const list = await stack.cli(['list']);
    assert.match(list.stdout, /push\.requests\.dlq\s+0\s+\?\s+CM_ERR_DLQ_BAD_ENVELOPE\s+\(not a DeadLetter: /);
    const show = await stack.cli(['show', PUSH_DLQ, '0']);
    assert.equal(show.code, EXIT_CODES.failed);
    assert.match(show.stderr, /\[CM_ERR_DLQ_BAD_ENVELOPE\]/);
    const replay = await stack.cli(['replay', PUSH_DLQ, '--yes']);
    assert.equal(replay.code, EXIT_CODES.refused);
    assert.match(replay.stdout, /refused push\.requests\.dlq\/0: \[CM_ERR_DLQ_BAD_ENVELOPE\]/);
  });
});

describe('dlq show', () => {
  test('prints the whole envelope and the original value decoded, as JSON', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice'], garbage: true });
    const { code, stdout, stderr } = await stack.cli(['show', PUSH_DLQ, '0']);
    assert.equal(code, 0, stderr);
    const shown: EntryJson = JSON.parse(stdout);
    assert.equal(shown.twin, PUSH_DLQ);
    assert.equal(shown.offset, '0');
    assert.equal(shown.envelope.originalTopic, PUSH);
    assert.equal(shown.envelope.originalKey, 'alice');
    assert.equal(shown.envelope.groupId, SERVICE_GROUP);
    assert.equal(shown.envelope.errorCode, 'CM_ERR_STORE_UNAVAILABLE');
    assert.equal(shown.envelope.errorMessage, 'cannot reach the store for alice');
    assert.equal(shown.envelope.attempts, 2);
    assert.deepEqual(shown.envelope.originalHeaders, { traceparent: 'trace-alice' });
    assert.deepEqual(shown.value, pushRequest('alice', 1));
    assert.equal(typeof shown.valueSchemaId, 'number');
    assert.equal(shown.replayed, null);
    const original = (await stack.records(PUSH)).find((record) => record.key === 'alice')!;
    assert.equal(shown.envelope.originalValue.base64, original.value!.toString('base64'));

    const garbage: EntryJson = JSON.parse((await stack.cli(['show', PUSH_DLQ, '0:1'])).stdout);
    assert.equal(garbage.value, null);
    assert.equal(Buffer.from(garbage.envelope.originalValue.base64, 'base64').toString(), 'not avro at all');
  });

  test('a missing offset exits 4, a malformed one exits 2', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice'] });
    const missing = await stack.cli(['show', PUSH_DLQ, '7']);
    assert.equal(missing.code, EXIT_CODES.notFound);
    assert.match(missing.stderr, /\[CM_ERR_DLQ_NOT_FOUND\] push\.requests\.dlq holds no record at offset 7/);
    assert.match(missing.stderr, /fix: List the twin/);
    const bad = await stack.cli(['show', PUSH_DLQ, 'seven']);
    assert.equal(bad.code, EXIT_CODES.usage);
    assert.match(bad.stderr, /"seven" is not an offset/);
  });
});

describe('dlq replay', () => {
  test('re-produces the originals in offset order with their bytes, key and headers plus x-chatmesh-replayed-from, and the fixed service handles them', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice', 'bob'], garbage: true });
    const before = await stack.records(PUSH);

    const { code, stdout, stderr } = await stack.cli(['replay', PUSH_DLQ, '--yes']);
    assert.equal(code, EXIT_CODES.ok, stderr);
    assert.match(stdout, /^replayed push\.requests\.dlq\/0 -> push\.requests\[\d\]@\d+$/m);
    assert.match(stdout, /push\.requests\.dlq: 3 replayed, 0 refused\./);
    assert.deepEqual(
      [...stdout.matchAll(/^replayed push\.requests\.dlq\/(\d+)/gm)].map((match) => match[1]),
      ['0', '1', '2'],
      'in offset order',
    );

    const after = await stack.records(PUSH);
    const replayed = after.filter((record) => record.headers[REPLAYED_FROM_HEADER] !== undefined);
    assert.equal(replayed.length, 3);
    for (const [index, key] of ['alice', 'bob', 'mallory'].entries()) {
      const copy = replayed.find((record) => record.key === key)!;
      const original = before.find((record) => record.key === key)!;
      assert.ok(copy.value!.equals(original.value!), `${key}: the bytes are untouched`);
      assert.equal(copy.partition, original.partition, `${key}: same key, same partition`);
      assert.deepEqual(copy.headers, { ...original.headers, [REPLAYED_FROM_HEADER]: `${PUSH_DLQ}/${index}` });
    }

    // After the fix: the same service group (already past the originals) handles the replayed records.
    const handled: PushRequest[] = [];
    const fixed = await subscribeTyped({
      bus: stack.bus,
      codec: stack.codec,
      groupId: SERVICE_GROUP,
      topics: [PUSH],
      handler: async (value) => void handled.push(value),
    });
    await waitFor(() => handled.length === 2, { description: 'the two replayed push requests handled' });
    await fixed.stop();
    assert.deepEqual(handled.map((value) => value.userId).sort(), ['alice', 'bob']);
    // The garbage is still garbage: it went back to the twin, at a new offset, marked as a replay.
    const twin = await stack.records(PUSH_DLQ);
    assert.equal(twin.length, 4);
    const parkedAgain = (await stack.codec.decode<DeadLetter>(twin[3]!.value!)).value;
    assert.equal(parkedAgain.originalKey, 'mallory');
    assert.equal(parkedAgain.originalHeaders[REPLAYED_FROM_HEADER], `${PUSH_DLQ}/2`);
  });

  test('a twin offset is replayed at most once, remembered across runs in <twin>.replayed', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice', 'bob'] });
    const first = await stack.cli(['replay', PUSH_DLQ, '--to-offset', '0', '--yes']);
    assert.equal(first.code, 0, first.stderr);
    assert.ok((await stack.bus.admin.listTopics()).includes(markerTopicOf(PUSH_DLQ)));
    const sent = (await stack.records(PUSH)).length;

    const second = await stack.cli(['replay', PUSH_DLQ, '--yes']);
    assert.equal(second.code, EXIT_CODES.refused, 'a refusal is reported in the exit code');
    assert.match(
      second.stdout,
      /refused push\.requests\.dlq\/0: \[CM_ERR_DLQ_ALREADY_REPLAYED\] replayed \d{4}-.* to push\.requests\[\d\]@\d+/,
    );
    assert.match(second.stdout, /replayed push\.requests\.dlq\/1 -> /);
    assert.equal((await stack.records(PUSH)).length, sent + 1, 'only offset 1 was sent');

    const third = await stack.cli(['replay', PUSH_DLQ, '--yes', '--json']);
    assert.equal(third.code, EXIT_CODES.refused);
    assert.deepEqual(
      (JSON.parse(third.stdout) as OutcomeJson[]).map((outcome) => [outcome.offset, outcome.status, outcome.code]),
      [
        ['0', 'refused', 'CM_ERR_DLQ_ALREADY_REPLAYED'],
        ['1', 'refused', 'CM_ERR_DLQ_ALREADY_REPLAYED'],
      ],
    );
    assert.equal((await stack.records(PUSH)).length, sent + 1, 'nothing was sent twice');

    const list = await stack.cli(['list', '--topic', PUSH_DLQ]);
    assert.equal(list.stdout.split('\n').filter((line) => /\syes\s/.test(line)).length, 2, list.stdout);
    const shown: EntryJson = JSON.parse((await stack.cli(['show', PUSH_DLQ, '1'])).stdout);
    assert.equal(shown.replayed.to.topic, PUSH);
  });

  test('--dry-run sends nothing and creates no marker; without --yes or a terminal it refuses; a declined prompt cancels', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice', 'bob'] });
    const sent = (await stack.records(PUSH)).length;

    const dry = await stack.cli(['replay', PUSH_DLQ, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would replay push\.requests\.dlq\/0 -> push\.requests \(key alice\)/);
    assert.match(dry.stdout, /2 would be replayed \(dry run, nothing sent\)/);

    const unconfirmed = await stack.cli(['replay', PUSH_DLQ]);
    assert.equal(unconfirmed.code, EXIT_CODES.usage);
    assert.match(unconfirmed.stderr, /\[CM_ERR_DLQ_CONFIRMATION_REQUIRED\]/);

    const questions: string[] = [];
    const declined = await stack.cli(['replay', PUSH_DLQ], {
      confirm: async (question) => (questions.push(question), false),
    });
    assert.equal(declined.code, 0);
    assert.match(declined.stdout, /Cancelled: nothing was replayed/);
    assert.deepEqual(questions, [`Replay 2 dead letter(s) of ${PUSH_DLQ} to ${PUSH}?`]);

    assert.equal((await stack.records(PUSH)).length, sent, 'nothing was produced');
    assert.ok(!(await stack.bus.admin.listTopics()).includes(markerTopicOf(PUSH_DLQ)));

    const accepted = await stack.cli(['replay', PUSH_DLQ, '--key', 'bob'], { confirm: async () => true });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /1 replayed, 0 refused/);
  });

  test('--code, --key and the offset range select; an empty selection exits 4', async () => {
    const stack = await startStack();
    await parkFailures(stack, { failing: ['alice', 'bob', 'carol', 'dave'], garbage: true });
    const outcomes = async (argv: string[]) => {
      const run = await stack.cli(['replay', PUSH_DLQ, '--dry-run', '--json', ...argv]);
      assert.equal(run.code, 0, run.stderr);
      return (JSON.parse(run.stdout) as OutcomeJson[]).map((outcome) => outcome.offset);
    };
    assert.deepEqual(await outcomes(['--from-offset', '1', '--to-offset', '2']), ['1', '2']);
    assert.deepEqual(await outcomes(['--key', 'carol']), ['2']);
    assert.deepEqual(await outcomes(['--code', 'CM_ERR_SCHEMA_DECODE']), ['4']);
    assert.deepEqual(await outcomes(['--code', 'CM_ERR_STORE_UNAVAILABLE', '--from-offset', '3']), ['3']);
    const none = await stack.cli(['replay', PUSH_DLQ, '--dry-run', '--key', 'zoe']);
    assert.equal(none.code, EXIT_CODES.notFound);
    assert.match(none.stderr, /\[CM_ERR_DLQ_NOT_FOUND\] no dead letter of push\.requests\.dlq matches/);
  });

  test("receipts' FAILED notices are refused unless --force", async () => {
    const stack = await startStack();
    await noticeOnReceiptsDlq(stack);
    const refused = await stack.cli(['replay', 'receipts.dlq', '--yes']);
    assert.equal(refused.code, EXIT_CODES.refused);
    assert.match(refused.stdout, /refused receipts\.dlq\/0: \[CM_ERR_DLQ_NOTICE_NOT_REPLAYABLE\]/);
    assert.equal((await stack.records(TOPICS.chatEvents.name)).length, 0);

    const forced = await stack.cli(['replay', 'receipts.dlq', '--yes', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    const events = await stack.records(TOPICS.chatEvents.name);
    assert.equal(events.length, 1, 'forced: the message event goes back to its original topic');
    assert.equal(events[0]!.key, 'chat-9');
    assert.equal(events[0]!.headers[REPLAYED_FROM_HEADER], 'receipts.dlq/0');
  });
});

describe('dlq command line and configuration', () => {
  test('usage errors exit 2 with the reason; --help exits 0', async () => {
    const stack = await startStack();
    for (const argv of [
      ['list', '--since', 'yesterday'],
      ['list', '--limit', '0'],
      ['replay', PUSH_DLQ, '--from-offset', '-1'],
      ['frobnicate'],
      ['list', '--bogus'],
    ]) {
      const run = await stack.cli(argv);
      assert.equal(run.code, EXIT_CODES.usage, `${argv.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /error: /, argv.join(' '));
    }
    const help = await stack.cli(['replay', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--dry-run/);
    assert.match(help.stdout, /--force/);
  });

  test('the stack configuration is validated with the services’ rules and both variables are required', async () => {
    assert.deepEqual(
      loadDlqConfig({ KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081' }),
      { kafkaBrokers: ['127.0.0.1:19092'], schemaRegistryUrl: 'http://127.0.0.1:18081' },
    );
    assert.throws(
      () => loadDlqConfig({ KAFKA_BROKERS: 'nope', CHATMESH_HTTP_PORT: 'also bad' }),
      (error: ConfigError) => {
        assert.equal(error.code, 'CM_ERR_CONFIG_INVALID');
        assert.deepEqual([...error.problems.map((problem) => problem.variable)].sort(), [
          'KAFKA_BROKERS',
          'SCHEMA_REGISTRY_URL',
        ]);
        return true;
      },
    );
    let stderr = '';
    const code = await runDlqCli(['list'], {
      env: {},
      stdout: { write: () => undefined },
      stderr: { write: (text: string) => (stderr += text) },
    });
    assert.equal(code, EXIT_CODES.usage);
    assert.match(stderr, /KAFKA_BROKERS is not set/);
    assert.match(stderr, /npm run infra -- up/);
  });
});
