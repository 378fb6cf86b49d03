/**
 * Two writers own one chat.commands partition at once, on real Kafka and Cassandra: the old ingest instance is
 * paused in the middle of an append (or before its epoch claim), a new one takes the partition over, then the old
 * one resumes. The chat log must stay gap-free and duplicate-free, every published event must be byte-identical
 * to its stored row, and nothing the old writer staged may become visible. Without the epoch-stamped writes the
 * late row would replace the new owner's; without the transactional fence its event and answer would be published.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKafkaBus, createNamespacedBus, type Bus, type BusRecord } from '@chatmesh/bus';
import { collectRecords, createGate } from '@chatmesh/bus/testing';
import { loadConfig } from '@chatmesh/config';
import {
  collectConfigSections,
  createTypedProducer,
  silentObservability,
  startServiceGroup,
  type ServiceGroup,
} from '@chatmesh/runtime';
import {
  createLocalCodec,
  gatewayDeliveriesTopic,
  TOPICS,
  type ChatCommand,
  type ChatEvent,
  type GatewayDelivery,
} from '@chatmesh/schemas';
import { createMemoryPresenceRegistry } from '@chatmesh/presence-registry';
import { createMigratedCassandraStore, type ChatStore, type LogEntry } from '@chatmesh/store';
import { randomKeyspaceName, randomName, startCassandra, startKafka, waitFor } from '@chatmesh/testing';
import { ingestService } from '../index.js';

const GATEWAY = 'gw-zombie';
const codec = createLocalCodec();

describe('ingest: two writers of one partition at once (real Kafka and Cassandra)', () => {
  let stopServers: () => Promise<void>;
  let brokers: readonly string[];
  let openStore: () => Promise<ChatStore>;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    const kafka = await startKafka();
    const cassandra = await startCassandra();
    brokers = kafka.brokers;
    const keyspace = randomKeyspaceName('zombie');
    const options = { contactPoints: cassandra.contactPoints, localDataCenter: cassandra.localDataCenter, keyspace };
    await (await createMigratedCassandraStore(options)).close();
    openStore = () => createMigratedCassandraStore(options);
    stopServers = async () => {
      await kafka.stop();
      await cassandra.stop();
    };
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await stopServers?.();
  });

  /** One ingest "process": its own Kafka client and Cassandra session, in the test's namespace. */
  async function startIngest(namespace: string, store: ChatStore): Promise<{ bus: Bus; group: ServiceGroup }> {
    const inner = createKafkaBus({
      brokers,
      clientId: randomName('ingest'),
      logLevel: 'nothing',
      // A paused member loses its partitions after this long.
      rebalanceTimeoutMs: 3_000,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
    });
    const bus = createNamespacedBus(inner, namespace);
    const group = await startServiceGroup([ingestService], {
      config: loadConfig({ env: {}, sections: collectConfigSections([ingestService]) }),
      ...silentObservability('ingest-zombie-test'),
      bus,
      codec,
      store,
      presence: createMemoryPresenceRegistry(),
    });
    closers.push(async () => {
      await group.stop();
      await bus.close();
    });
    return { bus, group };
  }

  /**
   * A store whose chat-log write of a chosen entry waits at a gate: the old writer's pause (a SIGSTOP or a long GC
   * between computing a sequence number and writing it). A member that claims its epoch late, after a newer owner,
   * is covered by the bus's confirmOwnership contract and the WriterEpochs unit tests.
   */
  function pausable(store: ChatStore, pauseWhen: (entry: LogEntry) => boolean) {
    const gate = createGate();
    const paused = createGate();
    // Only the first matching write pauses: after the takeover this member may get the partition back in a new
    // generation (its handlers no longer hold kafkajs's fetch loop) and redo the record itself.
    let pausedOnce = false;
    const wrapped: ChatStore = {
      ...store,
      chatLog: {
        ...store.chatLog,
        write: async (entry, epoch) => {
          if (!pausedOnce && pauseWhen(entry)) {
            pausedOnce = true;
            paused.open();
            await gate.promise;
          }
          return store.chatLog.write(entry, epoch);
        },
      },
    };
    return { store: wrapped, paused: paused.promise, resume: () => gate.open() };
  }

  async function setup() {
    const namespace = randomName('zw');
    // The test's own view of the topics: a client of its own in the same namespace.
    const observer = createNamespacedBus(
      createKafkaBus({ brokers, clientId: randomName('observer'), logLevel: 'nothing' }),
      namespace,
    );
    closers.push(() => observer.close());
    await observer.admin.createTopics([
      { name: gatewayDeliveriesTopic(GATEWAY).name, partitions: 1 },
      { name: TOPICS.chatCommands.name, partitions: TOPICS.chatCommands.partitions },
      { name: TOPICS.chatEvents.name, partitions: TOPICS.chatEvents.partitions },
    ]);
    const events = await collectRecords(observer, TOPICS.chatEvents.name);
    const answers = await collectRecords(observer, gatewayDeliveriesTopic(GATEWAY).name);
    const producer = createTypedProducer(observer, codec);
    const chatId = randomName('chat');
    let requests = 0;
    const command = (userId: string, body: ChatCommand['command']): Promise<unknown> =>
      producer.send(TOPICS.chatCommands.name, chatId, {
        chatId,
        origin: {
          userId,
          deviceId: 'phone',
          gatewayId: GATEWAY,
          requestId: `r${++requests}`,
          receivedAtMs: Date.now(),
        },
        traceparent: null,
        command: body,
      });
    const send = (clientMessageId: string): Promise<unknown> =>
      command('alice', {
        'chatmesh.chat.SendMessage': {
          afterClientMessageId: null,
          clientMessageId,
          content: { body: clientMessageId, envelopes: [], attachments: [] },
        },
      });
    const createChat = (): Promise<unknown> =>
      command('alice', {
        'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: ['bob'], name: 'G', pictureAttachmentId: null },
      });
    return { namespace, events, answers, chatId, send, createChat };
  }

  /** Every published event is one row of the log, byte for byte; seqs 1..n, once each. */
  async function assertLogMatchesEvents(store: ChatStore, chatId: string, events: readonly BusRecord[], n: number) {
    const decoded = await Promise.all(events.map(async (r) => (await codec.decode<ChatEvent>(r.value!)).value));
    const bySeq = new Map<number, Buffer[]>();
    decoded.forEach((event, index) => bySeq.set(event.seq, [...(bySeq.get(event.seq) ?? []), events[index]!.value!]));
    assert.deepEqual(
      [...bySeq.keys()].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
      'every sequence number published, none skipped',
    );
    const rows = await store.chatLog.readAfter(chatId, 0, 100);
    assert.deepEqual(
      rows.map((row) => row.seq),
      Array.from({ length: n }, (_, i) => i + 1),
      'the log is gap-free',
    );
    for (const row of rows) {
      for (const published of bySeq.get(row.seq)!) {
        assert.ok(published.equals(row.payload), `the event published at seq ${row.seq} is the stored row`);
      }
    }
    const keys = rows.map((row) => row.idempotencyKey);
    assert.equal(new Set(keys).size, keys.length, 'no message stored twice');
  }

  async function acceptedAnswers(answers: readonly BusRecord[], requestId: string): Promise<number> {
    let count = 0;
    for (const record of answers) {
      const delivery = (await codec.decode<GatewayDelivery>(record.value!)).value;
      const result = delivery.payload['chatmesh.gateway.CommandResult' as keyof typeof delivery.payload] as
        { requestId: string; accepted: boolean } | undefined;
      if (result?.requestId === requestId && result.accepted) count++;
    }
    return count;
  }

  it('the old writer paused in the middle of an append resumes after the takeover: its row loses, its outputs never appear', async () => {
    const t = await setup();
    const shared = await openStore();
    closers.push(() => shared.close());
    const old = pausable(await openStore(), (entry) => entry.idempotencyKey.endsWith('stall'));
    closers.push(() => old.store.close());
    const first = await startIngest(t.namespace, old.store);
    await waitFor(() => first.group.isReady(), { description: 'the first ingest ready', timeoutMs: 60_000 });
    await t.createChat();
    await t.send('m1');
    await waitFor(() => t.events.length === 2, { description: 'chat created and m1', timeoutMs: 60_000 });
    await t.send('stall'); // request r3
    await old.paused;
    // A second instance joins: the rebalance ends the stuck ownership, and whichever instance owns the partition
    // next (possibly the first one again, in a new generation) handles "stall" with a newer epoch.
    const next = await startIngest(t.namespace, shared);
    await waitFor(() => t.events.length >= 3, {
      description: 'the new owner stores and publishes "stall"',
      timeoutMs: 60_000,
    });
    await t.send('m4');
    await waitFor(() => t.events.length >= 4, { description: 'the new owner handles m4', timeoutMs: 60_000 });
    // The old writer resumes: it writes its (different: its own server time) row for seq 3 and tries to publish.
    old.resume();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await t.send('m5');
    await waitFor(() => t.events.length >= 5, { description: 'm5', timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await assertLogMatchesEvents(shared, t.chatId, t.events, 5);
    assert.equal(t.events.length, 5, 'nothing published twice');
    assert.equal(await acceptedAnswers(t.answers, 'r3'), 1, 'the sender is answered once, by the new owner');
    void next;
  });
});
