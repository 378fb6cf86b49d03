/**
 * Receipts throughput: how many reports per second the receipts service handles, and how many status
 * updates (plus read pointer updates) it produces, for 1:1 chats and for 256-member groups.
 *
 * Embedded (default): the receipts service alone on the memory bus and store; chats, members and
 * messages are written to the store first, then every report is produced at once and the clock runs
 * until the service has handled the last one (sustained rate with a full backlog).
 * `--stack`: the same on Kafka, the schema registry (SCHEMA_REGISTRY_URL) and Cassandra
 * (CASSANDRA_CONTACT_POINTS, a fresh keyspace); `eval "$(npm run -s infra -- env --export)"` first. The
 * service joins the fixed group `chatmesh.receipts`, so without KAFKA_BROKERS a private broker is started
 * for the run (`unset KAFKA_BROKERS` to get one; a shared broker's other receipts members would split the
 * partitions with this run).
 *
 * Options: `--direct-chats N` (default 200, stack 50), `--messages N` per chat (default 20, stack 10),
 * `--groups N` (default 2, stack 1), `--group-size N` (default 256), `--group-messages N` (default 4, stack 2).
 */
import { parseArgs } from 'node:util';
import { createKafkaBus, createMemoryBus, type Bus } from '@chatmesh/bus';
import { loadConfig } from '@chatmesh/config';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { collectConfigSections, ensureTopics, startServiceGroup, silentObservability } from '@chatmesh/runtime';
import {
  createLocalCodec,
  createRegistryCodec,
  TOPICS,
  valueSubjectOf,
  type ChatEvent,
  type ReceiptReport,
  type SchemaCodec,
} from '@chatmesh/schemas';
import {
  applyMigrations,
  createCassandraClient,
  createCassandraStore,
  createMemoryStore,
  type ChatStore,
} from '@chatmesh/store';
import { randomKeyspaceName, randomName, startRunKafka, waitFor } from '@chatmesh/testing';
import { receiptsService } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    stack: { type: 'boolean', default: false },
    'direct-chats': { type: 'string' },
    messages: { type: 'string' },
    groups: { type: 'string' },
    'group-size': { type: 'string', default: '256' },
    'group-messages': { type: 'string' },
  },
});
const pick = (value: string | undefined, embedded: number, stack: number): number =>
  value === undefined ? (args.stack ? stack : embedded) : Number(value);
const DIRECT_CHATS = pick(args['direct-chats'], 200, 50);
const MESSAGES = pick(args.messages, 20, 10);
const GROUPS = pick(args.groups, 2, 1);
const GROUP_SIZE = Number(args['group-size']);
const GROUP_MESSAGES = pick(args['group-messages'], 4, 2);
const run = randomName('rb').replace(/[^A-Za-z0-9_-]/g, '-');

interface Env {
  bus: Bus;
  codec: SchemaCodec;
  store: ChatStore;
  close(): Promise<void>;
}

async function environment(): Promise<Env> {
  if (!args.stack) {
    const bus = createMemoryBus();
    return { bus, codec: createLocalCodec(), store: createMemoryStore(), close: () => bus.close() };
  }
  const need = (name: string): string => {
    const value = process.env[name]?.trim();
    if (!value) throw new Error(`--stack needs ${name} (eval "$(npm run -s infra -- env --export)")`);
    return value;
  };
  const contactPoints = need('CASSANDRA_CONTACT_POINTS').split(',');
  const localDataCenter = process.env['CASSANDRA_LOCAL_DC'] ?? 'datacenter1';
  const keyspace = randomKeyspaceName('rbench');
  const client = createCassandraClient({ contactPoints, localDataCenter });
  await client.connect();
  await applyMigrations(client, { keyspace });
  await client.shutdown();
  const store = await createCassandraStore({ contactPoints, localDataCenter, keyspace });
  const kafka = process.env['KAFKA_BROKERS']?.trim() ? null : await startRunKafka();
  const bus = createKafkaBus({
    brokers: kafka ? [...kafka.brokers] : need('KAFKA_BROKERS').split(','),
    clientId: 'receipts-bench',
    logLevel: 'nothing',
  });
  const codec = createRegistryCodec({ url: need('SCHEMA_REGISTRY_URL'), clientId: 'receipts-bench' });
  return {
    bus,
    codec,
    store,
    close: async () => {
      await bus.close();
      await store.close();
      await kafka?.stop();
    },
  };
}

/** Writes a chat, its members (joined at 1) and `messages` messages from `sender` (seqs 2..) as ingest would. */
async function seedChat(
  env: Env,
  chatId: string,
  kind: 'direct' | 'group',
  members: readonly string[],
  sender: string,
  messages: number,
): Promise<void> {
  await env.store.directory.putChat(
    { chatId, kind, name: null, pictureRef: null, createdBy: sender, createdAtMs: 0, updatedAtMs: 0 },
    1,
  );
  for (let i = 0; i < members.length; i += 64) {
    await Promise.all(
      members.slice(i, i + 64).map((userId) =>
        env.store.directory.addMember({
          chatId,
          userId,
          role: 'member',
          joinedSeq: 1,
          removedSeq: null,
          addedBy: sender,
        }),
      ),
    );
  }
  const subject = valueSubjectOf(TOPICS.chatEvents.name);
  const origin = { userId: sender, deviceId: `${sender}-d`, gatewayId: 'gw', requestId: 'create', receivedAtMs: 0 };
  const created: ChatEvent = {
    chatId,
    seq: 1,
    serverTimeMs: Date.now(),
    origin,
    event: {
      'chatmesh.chat.ChatCreated': {
        kind: kind === 'direct' ? 'DIRECT' : 'GROUP',
        members: members.map((userId) => ({ userId, role: userId === sender ? 'ADMIN' : 'MEMBER' })),
        name: null,
        pictureAttachmentId: null,
      },
    },
  };
  await env.store.chatLog.insertIfAbsent({
    streamId: chatId,
    seq: 1,
    idempotencyKey: 'create',
    kind: 'chat_created',
    payload: await env.codec.encode(subject, created),
    createdAtMs: created.serverTimeMs,
  });
  for (let seq = 2; seq < 2 + messages; seq++) {
    const event: ChatEvent = {
      chatId,
      seq,
      serverTimeMs: Date.now(),
      origin: { userId: sender, deviceId: `${sender}-d`, gatewayId: 'gw', requestId: `r${seq}`, receivedAtMs: 0 },
      event: {
        'chatmesh.chat.MessageReceived': {
          clientMessageId: `c${seq}`,
          content: { body: `message ${seq}`, envelopes: [], attachments: [] },
        },
      },
    };
    await env.store.chatLog.insertIfAbsent({
      streamId: chatId,
      seq,
      idempotencyKey: `c${seq}`,
      kind: 'message',
      payload: await env.codec.encode(subject, event),
      createdAtMs: event.serverTimeMs,
    });
  }
  await env.store.chatLog.raiseHead(chatId, 1 + messages);
}

const report = (chatId: string, userId: string, kind: 'DELIVERED' | 'READ', upToSeq: number): ReceiptReport => ({
  chatId,
  userId,
  deviceId: `${userId}-d`,
  gatewayId: 'gw-bench',
  requestId: `local:bench:${chatId}:${userId}:${kind}:${upToSeq}`,
  kind,
  upToSeq,
  reportedAtMs: Date.now(),
});

async function main(): Promise<void> {
  const env = await environment();
  await ensureTopics(env.bus, env.codec, [TOPICS.receipts, TOPICS.chatEvents, TOPICS.userInbox]);
  const group = await startServiceGroup([receiptsService], {
    config: loadConfig({ env: { CHATMESH_LOG_LEVEL: 'silent' }, sections: collectConfigSections([receiptsService]) }),
    ...silentObservability('receipts-bench'),
    bus: env.bus,
    codec: env.codec,
    store: env.store,
    presence: createMemoryPresenceRegistry(),
  });
  await waitFor(() => group.isReady(), { description: 'receipts ready', timeoutMs: 120_000 });
  const details = (): Record<string, number> => group.health()['receipts']!.details as Record<string, number>;
  const handled = (): number =>
    details()['applied']! + details()['unchanged']! + details()['rejected']! + details()['ignored']!;
  const produced = (): number => details()['statusUpdates']! + details()['readPointerUpdates']!;

  async function measure(label: string, reports: ReceiptReport[]): Promise<void> {
    const subject = valueSubjectOf(TOPICS.receipts.name);
    const startHandled = handled();
    const startProduced = produced();
    const startStatus = details()['statusUpdates']!;
    const records = await Promise.all(
      reports.map(async (r) => ({ key: r.chatId, value: await env.codec.encode(subject, r) })),
    );
    const started = performance.now();
    for (let i = 0; i < records.length; i += 500)
      await env.bus.producer.send(TOPICS.receipts.name, records.slice(i, i + 500));
    await waitFor(() => handled() >= startHandled + reports.length, {
      description: `${reports.length} reports handled`,
      timeoutMs: 600_000,
      intervalMs: 5,
    });
    const seconds = (performance.now() - started) / 1000;
    const statuses = details()['statusUpdates']! - startStatus;
    const out = produced() - startProduced;
    console.log(
      `${label}: ${reports.length} reports in ${seconds.toFixed(2)} s = ${Math.round(reports.length / seconds)} receipts/s; ` +
        `${statuses} status updates (${Math.round(statuses / seconds)}/s), ${out - statuses} read pointer updates; ` +
        `${(out / seconds).toFixed(0)} inbox entries/s produced`,
    );
  }

  console.log(
    `receipts bench (${args.stack ? 'stack: Kafka + registry + Cassandra' : 'embedded: memory bus and store'})`,
  );
  // 1:1: each recipient reports DELIVERED then READ for every message, one at a time (the worst case: each
  // report moves the pointer by one message and produces one update).
  const direct: ReceiptReport[] = [];
  for (let c = 0; c < DIRECT_CHATS; c++) {
    await seedChat(env, `${run}-d${c}`, 'direct', [`${run}-a${c}`, `${run}-b${c}`], `${run}-a${c}`, MESSAGES);
  }
  for (let seq = 2; seq < 2 + MESSAGES; seq++) {
    for (let c = 0; c < DIRECT_CHATS; c++) {
      direct.push(
        report(`${run}-d${c}`, `${run}-b${c}`, 'DELIVERED', seq),
        report(`${run}-d${c}`, `${run}-b${c}`, 'READ', seq),
      );
    }
  }
  await measure(`1:1 (${DIRECT_CHATS} chats x ${MESSAGES} messages, DELIVERED + READ each)`, direct);

  // Groups: every member but the sender reports DELIVERED then READ for each message.
  const groupReports: ReceiptReport[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const members = Array.from({ length: GROUP_SIZE }, (_, i) => `${run}-g${g}u${i}`);
    await seedChat(env, `${run}-g${g}`, 'group', members, members[0]!, GROUP_MESSAGES);
    for (let seq = 2; seq < 2 + GROUP_MESSAGES; seq++) {
      for (const kind of ['DELIVERED', 'READ'] as const) {
        for (const member of members.slice(1)) groupReports.push(report(`${run}-g${g}`, member, kind, seq));
      }
    }
  }
  await measure(
    `group of ${GROUP_SIZE} (${GROUPS} groups x ${GROUP_MESSAGES} messages, DELIVERED + READ by every member)`,
    groupReports,
  );
  await group.stop();
  await env.close();
}

await main();
