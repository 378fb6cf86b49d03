import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Subscription } from '@chatmesh/bus';
import { CHAT_LIMITS } from '@chatmesh/protocol';
import { subscribeTyped } from '@chatmesh/runtime';
import { TOPICS, deadLetterTopicOf, type CommandResult, type DeadLetter } from '@chatmesh/schemas';
import { randomName, waitFor } from '@chatmesh/testing';
import { expectedInboxes, type ExpectedRef } from './expected-inbox.js';
import {
  GatewayDriver,
  type CommandBody,
  type CommandOutcome,
  type RetryPolicy,
  type Sender,
} from './gateway-driver.js';
import { readChatLog, readInbox, snapshotStreams, type ChatLogRow } from './store-views.js';
import { CORE_GROUPS, type CoreService, type SystemHarness } from './system-harness.js';

/** How much load the suite puts through the services. */
export interface SuiteLoad {
  /** Group chats of the mixed load. */
  readonly chats: number;
  /** Members per chat, the creator included: from min to max, spread over the chats. */
  readonly minMembers: number;
  readonly maxMembers: number;
  /** Messages sent across those chats while services are killed. */
  readonly sends: number;
  /** Sends in flight at once. */
  readonly inFlight: number;
}

/** Options of {@link defineGuaranteeSuite}. */
export interface GuaranteeSuiteOptions {
  /** The describe block's name. */
  readonly name: string;
  readonly createHarness: () => Promise<SystemHarness>;
  readonly load: SuiteLoad;
  /** Retry policy of the driver (the SDK's, scaled to the mode). */
  readonly retry: RetryPolicy;
  /** How long the pipeline may take to settle after the load (kills and restarts included). */
  readonly settleTimeoutMs: number;
  /** Progress and the run's summary. @default stderr */
  readonly log?: (line: string) => void;
}

/** Kills at these fractions of acknowledged sends; each entry kills the services listed, then restarts them. */
const KILL_PLAN: ReadonlyArray<{ readonly atFraction: number; readonly services: readonly CoreService[] }> = [
  { atFraction: 0.2, services: ['ingest'] },
  { atFraction: 0.45, services: ['fan-out'] },
  { atFraction: 0.7, services: ['ingest', 'fan-out'] },
];

interface ChatPlan {
  readonly chatId: string;
  readonly members: readonly string[];
}

interface AckedSend {
  readonly chatId: string;
  readonly sender: string;
  readonly clientMessageId: string;
  readonly seq: number;
  readonly serverTimeMs: number;
}

const DEVICE = 'phone';

function sender(userId: string): Sender {
  return { userId, deviceId: DEVICE };
}

function send(clientMessageId: string, body: string): CommandBody {
  return {
    'chatmesh.chat.SendMessage': { afterClientMessageId: null, clientMessageId, content: GatewayDriver.text(body) },
  };
}

function createGroup(members: readonly string[], name: string): CommandBody {
  return {
    'chatmesh.chat.CreateChat': { kind: 'GROUP', memberUserIds: members.slice(1), name, pictureAttachmentId: null },
  };
}

function assertRejected(result: CommandResult | null, code: string, what: string): void {
  assert.ok(result, `${what}: answered`);
  assert.equal(result.accepted, false, `${what}: rejected`);
  assert.equal(result.reason?.code, code, `${what}: reason code`);
  assert.ok((result.reason?.message ?? '').length > 0, `${what}: reason message`);
  assert.equal(result.seq, null, `${what}: no sequence number`);
}

function assertAccepted(result: CommandResult | null, what: string): asserts result is CommandResult & { seq: number } {
  assert.ok(result, `${what}: answered`);
  assert.equal(
    result.accepted,
    true,
    `${what}: accepted (got ${result.reason?.code ?? '?'}: ${result.reason?.message ?? ''})`,
  );
  assert.equal(typeof result.seq, 'number', `${what}: has a sequence number`);
}

/** Maps in parallel with a bound (reads of a thousand inboxes). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await fn(items[index] as T);
      }
    }),
  );
  return out;
}

/**
 * Waits until every core consumer group has consumed everything on its topic (committed offset at the
 * high watermark on every partition), checked in pipeline order: chat.commands, chat.events, user.inbox.
 * A stage that is idle has produced everything its input causes, so one ordered pass is enough.
 */
export async function waitForPipelineIdle(harness: SystemHarness, timeoutMs: number): Promise<void> {
  for (const { groupId, topic } of CORE_GROUPS) {
    await waitFor(
      async () => {
        const high = await harness.bus.admin.fetchTopicOffsets(topic);
        const committed = await harness.bus.admin.fetchCommittedOffsets(groupId, topic);
        return high.every((p) => {
          const at = committed.find((c) => c.partition === p.partition)?.offset ?? '-1';
          return at === '-1' ? p.high === p.low : BigInt(at) >= BigInt(p.high);
        });
      },
      { description: `${groupId} to consume all of ${topic}`, timeoutMs, intervalMs: 250 },
    );
  }
}

/** The result of {@link verifyState}. */
interface StateCheck {
  readonly messageRows: number;
  readonly inboxRows: number;
  readonly logs: Map<string, ChatLogRow[]>;
}

/**
 * Checks the stored state of the given chats and users against the rules, and returns problems instead
 * of throwing so it can be polled until the pipeline settles:
 * - each chat log is gap-free from 1 and each message is stored once;
 * - each inbox is gap-free from 1, holds no entry twice, and for every chat holds exactly the events the
 *   user was meant to see ({@link expectedInboxes}) in chat sequence order; nothing of a chat outside
 *   the given ones, nothing for a user who was never a member.
 */
async function checkState(
  harness: SystemHarness,
  chatIds: readonly string[],
  userIds: readonly string[],
): Promise<{ problems: string[]; check: StateCheck }> {
  const problems: string[] = [];
  const logs = new Map<string, ChatLogRow[]>();
  const expected = new Map<string, Map<string, ExpectedRef[]>>();
  let messageRows = 0;
  const broadcastChats = await harness.store.broadcastChats.sinceOfMany(chatIds);
  for (const chatId of chatIds) {
    const log = await readChatLog(harness.store, harness.codec, chatId);
    logs.set(chatId, log);
    log.forEach((row, index) => {
      if (row.seq !== index + 1) problems.push(`chat ${chatId}: row ${index} has seq ${row.seq}`);
      if (row.event.seq !== row.seq || row.event.chatId !== chatId)
        problems.push(`chat ${chatId}: row ${row.seq} holds event ${row.event.chatId}#${row.event.seq}`);
    });
    const keys = new Set<string>();
    for (const row of log) {
      if (keys.has(row.idempotencyKey)) problems.push(`chat ${chatId}: key ${row.idempotencyKey} stored twice`);
      keys.add(row.idempotencyKey);
      const body = row.event.event;
      if ('chatmesh.chat.MessageReceived' in body) {
        messageRows++;
        const key = `${row.event.origin.userId}/${body['chatmesh.chat.MessageReceived'].clientMessageId}`;
        if (keys.has(key)) problems.push(`chat ${chatId}: message ${key} stored twice`);
        keys.add(key);
      }
    }
    for (const [userId, refs] of expectedInboxes(log, broadcastChats.get(chatId) ?? null)) {
      const byChat = expected.get(userId) ?? new Map<string, ExpectedRef[]>();
      byChat.set(chatId, refs);
      expected.set(userId, byChat);
    }
  }
  const chatSet = new Set(chatIds);
  let inboxRows = 0;
  const inboxes = await mapLimit(userIds, 16, (userId) => readInbox(harness.store, harness.codec, userId));
  userIds.forEach((userId, u) => {
    const inbox = inboxes[u] ?? [];
    inboxRows += inbox.length;
    const seen = new Set<string>();
    const actual = new Map<string, ExpectedRef[]>();
    inbox.forEach((row, index) => {
      if (row.inboxSeq !== index + 1) problems.push(`inbox ${userId}: row ${index} has inbox seq ${row.inboxSeq}`);
      if (row.entry.inboxSeq !== row.inboxSeq || row.entry.userId !== userId)
        problems.push(`inbox ${userId}: row ${row.inboxSeq} holds ${row.entry.userId}#${row.entry.inboxSeq}`);
      if (seen.has(row.idempotencyKey)) problems.push(`inbox ${userId}: ${row.idempotencyKey} twice`);
      seen.add(row.idempotencyKey);
      if (!chatSet.has(row.entry.chatId)) problems.push(`inbox ${userId}: entry of foreign chat ${row.entry.chatId}`);
      if (!row.ref) return;
      const list = actual.get(row.entry.chatId) ?? [];
      list.push({ chatSeq: row.ref.chatSeq, kind: row.ref.kind, clientMessageId: row.ref.clientMessageId });
      actual.set(row.entry.chatId, list);
    });
    const want = expected.get(userId) ?? new Map<string, ExpectedRef[]>();
    for (const chatId of new Set([...want.keys(), ...actual.keys()])) {
      const got = actual.get(chatId) ?? [];
      const exp = want.get(chatId) ?? [];
      // Order, defined: the chat's entries in inbox order have chat sequence numbers increasing by exactly 1
      // (a broadcast chat's later events are not in inboxes: its order is checked against the expectation below).
      for (let i = 1; i < got.length && !broadcastChats.has(chatId); i++) {
        if (got[i]!.chatSeq !== got[i - 1]!.chatSeq + 1)
          problems.push(`inbox ${userId}, chat ${chatId}: seq ${got[i - 1]!.chatSeq} then ${got[i]!.chatSeq}`);
      }
      if (JSON.stringify(got) !== JSON.stringify(exp)) {
        const gotSeqs = got.map((r) => r.chatSeq);
        const expSeqs = exp.map((r) => r.chatSeq);
        const missing = expSeqs.filter((s) => !gotSeqs.includes(s));
        const extra = gotSeqs.filter((s) => !expSeqs.includes(s));
        const twice = gotSeqs.filter((s, i) => gotSeqs.indexOf(s) !== i);
        problems.push(
          `inbox ${userId}, chat ${chatId}: ${got.length} entries, expected ${exp.length}` +
            ` (missing seqs ${missing.slice(0, 10).join(',') || '-'}; unexpected ${extra.slice(0, 10).join(',') || '-'};` +
            ` twice ${twice.slice(0, 10).join(',') || '-'})`,
        );
      }
    }
  });
  return { problems, check: { messageRows, inboxRows, logs } };
}

/** Polls {@link checkState} until it finds no problem, then returns its counts. */
async function settledState(
  harness: SystemHarness,
  chatIds: readonly string[],
  userIds: readonly string[],
  timeoutMs: number,
): Promise<StateCheck> {
  let last: string[] = [];
  try {
    return await waitFor(
      async () => {
        const { problems, check } = await checkState(harness, chatIds, userIds);
        last = problems;
        return problems.length === 0 ? check : false;
      },
      { description: 'every inbox to match its chats', timeoutMs, intervalMs: 500 },
    );
  } catch (error) {
    assert.fail(
      `state never settled: ${last.length} problems, first: ${last.slice(0, 8).join(' | ')}; ${String(error)}`,
    );
  }
}

/**
 * The core message path's four guarantees (no loss, no duplicates, order, isolation) plus the 1,024
 * member group and bad input, as one ordered `describe` block. Written once; the embedded unit test and
 * the stack integration test each call it with their harness.
 */
export function defineGuaranteeSuite(options: GuaranteeSuiteOptions): void {
  const log = options.log ?? ((line: string) => process.stderr.write(`[system-tests] ${line}\n`));
  const { load, retry } = options;

  describe(options.name, { concurrency: false }, () => {
    const runId = randomName('sys');
    const chats: ChatPlan[] = [];
    const poisonChat: ChatPlan = { chatId: `${runId}-poison`, members: [`${runId}-p0`, `${runId}-p1`] };
    const outsiders = [`${runId}-x0`, `${runId}-x1`];
    const acked: AckedSend[] = [];
    const online = new Set<string>();
    const stats = { sends: 0, acks: 0, retries: 0, answeredTwice: 0, kills: [] as string[], startedMs: Date.now() };
    let harness: SystemHarness;
    let gateway: GatewayDriver;
    const replayFrom = new Map<string, Array<{ partition: number; offset: string }>>();
    /** The current end of each partition of a topic. */
    const topicEnds = async (topic: string): Promise<Array<{ partition: number; offset: string }>> => {
      // Topics a service just created may answer "not the leader" for a moment: retry until they answer.
      const offsets = await waitFor(() => harness.bus.admin.fetchTopicOffsets(topic), {
        description: `offsets of ${topic}`,
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      return offsets.map((p) => ({ partition: p.partition, offset: p.high }));
    };

    const allChatIds = (): string[] => [...chats.map((c) => c.chatId), poisonChat.chatId];
    const allUserIds = (): string[] => [
      ...new Set([...chats.flatMap((c) => c.members), ...poisonChat.members, ...outsiders]),
    ];
    const command = (userId: string, chatId: string, body: CommandBody, requestId?: string) =>
      gateway.command(sender(userId), chatId, body, retry, requestId);

    before(async () => {
      harness = await options.createHarness();
      await harness.start('ingest');
      await harness.start('fan-out');
      // Where this run begins on chat.commands: the replay test rewinds ingest's group to here.
      replayFrom.set(TOPICS.chatCommands.name, await topicEnds(TOPICS.chatCommands.name));
      gateway = await GatewayDriver.start({ bus: harness.bus, codec: harness.codec });
      for (let c = 0; c < load.chats; c++) {
        const size = load.minMembers + (c % (load.maxMembers - load.minMembers + 1));
        chats.push({
          chatId: `${runId}-g${c}`,
          members: Array.from({ length: size }, (_, m) => `${runId}-u${c}-${m}`),
        });
      }
      // Some devices are online at this gateway: fan-out routes their entries here (others go to push).
      for (const userId of [...chats.map((c) => c.members[1]!), outsiders[0]!]) {
        await harness.presence.registerDevice({
          userId,
          deviceId: DEVICE,
          gatewayId: gateway.gatewayId,
          connectionId: randomName('conn'),
          ttlMs: 30 * 60_000,
        });
        online.add(userId);
      }
    });

    after(async () => {
      const durationS = ((Date.now() - stats.startedMs) / 1000).toFixed(1);
      const counters = gateway?.counters;
      log(
        `${harness?.mode ?? '?'}: ${chats.length} chats, ${allUserIds().length} users; ${stats.sends} sends, ` +
          `${stats.acks} acknowledged, ${stats.retries} retries (${stats.answeredTwice} sends answered twice); ` +
          `kills: ${stats.kills.join(', ') || 'none'}; ${counters?.produced ?? 0} commands produced, ` +
          `${counters?.results ?? 0} results received; ${durationS} s`,
      );
      await gateway?.stop();
      await harness?.close();
    });

    test('groups are created: each creation acknowledged at sequence 1', async () => {
      const outcomes = await Promise.all(
        [...chats, poisonChat].map((chat) =>
          command(chat.members[0]!, chat.chatId, createGroup(chat.members, `group ${chat.chatId}`)),
        ),
      );
      outcomes.forEach((outcome, i) => {
        assertAccepted(outcome.result, `create ${i}`);
        assert.equal(outcome.result.seq, 1);
      });
    });

    test('bad input: unknown chat, oversized body, malformed commands and a poison record are rejected or parked with their reason, and nothing else changes', async () => {
      const target = chats[0]!;
      const member = target.members[0]!;
      await waitForPipelineIdle(harness, options.settleTimeoutMs);
      const chatsBefore = await snapshotStreams(harness.store.chatLog, allChatIds());
      const inboxesBefore = await snapshotStreams(harness.store.inboxLog, allUserIds());

      const unknownChat = `${runId}-nochat`;
      assertRejected(
        (await command(member, unknownChat, send(`${runId}-bad1`, 'hello?'))).result,
        'CM_ERR_CHAT_NOT_FOUND',
        'send to an unknown chat',
      );
      assert.equal(await harness.store.directory.getChat(unknownChat), null, 'the unknown chat was not created');
      assert.deepEqual(await harness.store.chatLog.readAfter(unknownChat, 0, 10), []);

      const oversized = 'x'.repeat(CHAT_LIMITS.maxBodyBytes + 1);
      assertRejected(
        (await command(member, target.chatId, send(`${runId}-bad2`, oversized))).result,
        'CM_ERR_CHAT_PAYLOAD_TOO_LARGE',
        'oversized body',
      );
      assertRejected(
        (await command(member, target.chatId, send('not a valid id!', 'hi'))).result,
        'CM_ERR_CHAT_INVALID_COMMAND',
        'malformed client message id',
      );
      assertRejected(
        (
          await command(member, target.chatId, {
            'chatmesh.chat.SendMessage': {
              afterClientMessageId: null,
              clientMessageId: `${runId}-bad3`,
              content: { body: null, envelopes: [], attachments: [] },
            },
          })
        ).result,
        'CM_ERR_CHAT_INVALID_COMMAND',
        'empty message',
      );
      assertRejected(
        (
          await command(member, `${runId}-direct`, {
            'chatmesh.chat.CreateChat': {
              kind: 'DIRECT',
              memberUserIds: [target.members[1]!],
              name: null,
              pictureAttachmentId: null,
            },
          })
        ).result,
        'CM_ERR_CHAT_INVALID_COMMAND',
        'direct chat under a made-up id',
      );

      // A poison record: bytes that are no Avro ChatCommand at all, keyed by a live chat.
      const dead: DeadLetter[] = [];
      const dlq: Subscription = await subscribeTyped({
        bus: harness.bus,
        codec: harness.codec,
        groupId: randomName('sys-dlq-reader'),
        topics: [deadLetterTopicOf(TOPICS.chatCommands.name)],
        fromBeginning: true,
        handler: async (letter) => {
          if (letter.originalKey === poisonChat.chatId) dead.push(letter);
        },
      });
      try {
        const poison = Buffer.from(`poison ${runId}`);
        await harness.bus.producer.send(TOPICS.chatCommands.name, [{ key: poisonChat.chatId, value: poison }]);
        const after = await command(
          poisonChat.members[1]!,
          poisonChat.chatId,
          send(`${runId}-after-poison`, 'still here'),
        );
        assertAccepted(after.result, 'send after the poison record');
        assert.equal(after.result.seq, 2, 'the poison record took no sequence number and blocked nothing');
        await waitFor(() => dead.length >= 1, {
          description: 'the poison record on chat.commands.dlq',
          timeoutMs: 60_000,
        });
        const letter = dead[0]!;
        assert.equal(letter.originalTopic, TOPICS.chatCommands.name);
        assert.equal(letter.groupId, 'chatmesh.ingest');
        assert.equal(letter.errorCode, 'CM_ERR_SCHEMA_DECODE');
        assert.ok(letter.errorMessage.length > 0, 'the letter says why');
        assert.deepEqual(letter.originalValue, poison, 'the original bytes are kept for a replay');
      } finally {
        await dlq.stop();
      }

      await waitForPipelineIdle(harness, options.settleTimeoutMs);
      const chatsAfter = await snapshotStreams(harness.store.chatLog, allChatIds());
      const inboxesAfter = await snapshotStreams(harness.store.inboxLog, allUserIds());
      // The one valid send after the poison is the only change.
      assert.deepEqual(chatsAfter[poisonChat.chatId]?.length, 2);
      assert.deepEqual({ ...chatsAfter, [poisonChat.chatId]: [] }, { ...chatsBefore, [poisonChat.chatId]: [] });
      for (const userId of allUserIds()) {
        if (poisonChat.members.includes(userId)) continue;
        assert.deepEqual(inboxesAfter[userId], inboxesBefore[userId], `inbox of ${userId} unchanged`);
      }
    });

    test('no loss: under SIGKILLs of ingest and fan-out mid-stream, with the driver retrying unacknowledged sends under the same client message id, every acknowledged message reaches every member inbox', async () => {
      const plan = KILL_PLAN.map((step) => ({ ...step, atAcks: Math.ceil(step.atFraction * load.sends) }));
      const answers: CommandOutcome[] = [];
      const chaosRuns: Array<Promise<void>> = [];
      let chaos: Promise<void> | null = null;
      let next = 0;
      const stepDue = (): boolean => plan.length > 0 && stats.acks >= plan[0]!.atAcks;
      // One step at a time: kill while sends are flowing, keep ingest down until sends go unanswered and
      // are retried, restart, then the next step may start.
      const maybeKill = (): void => {
        if (chaos !== null || !stepDue()) return;
        const step = plan.shift()!;
        const run = (async () => {
          const retriesBefore = gateway.counters.retries;
          // The replay test rewinds fan-out's topics to the first fan-out kill (ingest's to the run's start):
          // the window with the most redelivery, at half the replay work on a slow machine.
          if (step.services.includes('fan-out') && !replayFrom.has(TOPICS.chatEvents.name)) {
            for (const topic of [TOPICS.chatEvents.name, TOPICS.userInbox.name]) {
              replayFrom.set(topic, await topicEnds(topic));
            }
          }
          for (const service of step.services) {
            await harness.kill(service);
            stats.kills.push(`${service} at ${stats.acks} acks`);
          }
          // With ingest dead, stay down until sends go unanswered and the driver retries them (embedded
          // restarts in microseconds otherwise); the retries then race the redelivered originals.
          if (step.services.includes('ingest')) {
            await waitFor(() => gateway.counters.retries > retriesBefore, {
              description: 'the driver to retry an unanswered send',
              timeoutMs: retry.ackTimeoutMs * 4,
            });
          }
          for (const service of step.services) await harness.start(service);
        })().finally(() => {
          chaos = null;
          maybeKill();
        });
        chaos = run;
        chaosRuns.push(run);
      };
      const worker = async (): Promise<void> => {
        while (next < load.sends) {
          // A kill is due while the previous restart still runs: wait for it, so no kill happens on an idle stream.
          while (chaos !== null && stepDue()) await (chaos as Promise<void>).catch(() => undefined);
          if (next >= load.sends) break;
          const i = next++;
          const chat = chats[i % chats.length]!;
          const from = chat.members[(i * 7 + Math.floor(i / chats.length)) % chat.members.length]!;
          const clientMessageId = `${runId}-m${i}`;
          stats.sends++;
          const outcome = await command(from, chat.chatId, send(clientMessageId, `message ${i} from ${from}`));
          stats.retries += outcome.attempts - 1;
          assertAccepted(outcome.result, `send ${i}`);
          answers.push(outcome);
          stats.acks++;
          acked.push({
            chatId: chat.chatId,
            sender: from,
            clientMessageId,
            seq: outcome.result.seq,
            serverTimeMs: outcome.result.serverTimeMs!,
          });
          maybeKill();
        }
      };
      await Promise.all(Array.from({ length: load.inFlight }, worker));
      await Promise.all(chaosRuns);
      assert.equal(
        stats.kills.length,
        KILL_PLAN.reduce((n, step) => n + step.services.length, 0),
        'every kill ran',
      );
      assert.equal(acked.length, load.sends, 'every send was acknowledged in the end');

      const state = await settledState(harness, allChatIds(), allUserIds(), options.settleTimeoutMs);
      // A send retried while its first attempt was still queued is answered once per attempt (the results
      // keep arriving after the first): every answer carries the original seq and server time.
      for (const outcome of answers) {
        const accepted = outcome.results.filter((r) => r.accepted);
        if (accepted.length > 1) stats.answeredTwice++;
        for (const other of accepted) {
          assert.equal(other.seq, outcome.result?.seq, `${other.clientMessageId}: every answer has the same seq`);
          assert.equal(other.serverTimeMs, outcome.result?.serverTimeMs, `${other.clientMessageId}: same server time`);
        }
      }
      // Every acknowledgement names the stored row: same chat, seq, sender, client id and server time.
      for (const ack of acked) {
        const row = state.logs.get(ack.chatId)?.[ack.seq - 1];
        assert.ok(row, `acknowledged ${ack.clientMessageId} is stored`);
        const body = row.event.event;
        assert.ok('chatmesh.chat.MessageReceived' in body, `row ${ack.chatId}#${ack.seq} is a message`);
        assert.equal(body['chatmesh.chat.MessageReceived'].clientMessageId, ack.clientMessageId);
        assert.equal(row.event.origin.userId, ack.sender);
        assert.equal(row.event.serverTimeMs, ack.serverTimeMs);
      }
      // ...and nothing else was stored: one row per acknowledged send (plus the poison chat's one message).
      assert.equal(state.messageRows, acked.length + 1, 'one message row per acknowledged send');
    });

    test('no duplicates: a send retried with the same client message id gets the original acknowledgement and adds nothing', async () => {
      const sample = acked.filter((_, i) => i % Math.max(1, Math.floor(acked.length / 20)) === 0);
      const chatsBefore = await snapshotStreams(harness.store.chatLog, allChatIds());
      for (const original of sample) {
        const again = await command(original.sender, original.chatId, send(original.clientMessageId, 'retried'));
        assertAccepted(again.result, `retry of ${original.clientMessageId}`);
        assert.equal(again.result.seq, original.seq, 'same sequence number');
        assert.equal(again.result.serverTimeMs, original.serverTimeMs, 'same server time');
        assert.equal(again.result.clientMessageId, original.clientMessageId);
      }
      await waitForPipelineIdle(harness, options.settleTimeoutMs);
      assert.deepEqual(await snapshotStreams(harness.store.chatLog, allChatIds()), chatsBefore, 'no row added');
      await settledState(harness, allChatIds(), allUserIds(), options.settleTimeoutMs);
    });

    test("isolation: non-members are refused and get nothing, removed members get nothing after their removal, devices get only their own user's entries", async () => {
      const outsider = outsiders[0]!;
      const target = chats[0]!;
      assertRejected(
        (await command(outsider, target.chatId, send(`${runId}-intruder`, 'let me in'))).result,
        'CM_ERR_CHAT_NOT_FOUND',
        'a non-member send',
      );
      assertRejected(
        (await command(outsider, target.chatId, { 'chatmesh.chat.AddMembers': { userIds: [outsider] } })).result,
        'CM_ERR_CHAT_NOT_FOUND',
        'a non-member adding themselves',
      );
      assertRejected(
        (
          await command(target.members[1]!, target.chatId, {
            'chatmesh.chat.RemoveMembers': { userIds: [target.members[0]!] },
          })
        ).result,
        'CM_ERR_CHAT_FORBIDDEN',
        'a plain member removing the admin',
      );

      // Remove the last member of a few chats, then keep talking there.
      const removals = chats
        .slice(0, Math.min(4, chats.length))
        .map((chat) => ({ chat, removed: chat.members.at(-1)! }));
      for (const { chat, removed } of removals) {
        const removal: CommandBody = { 'chatmesh.chat.RemoveMembers': { userIds: [removed] } };
        const requestId = randomName('removal');
        const outcome = await command(chat.members[0]!, chat.chatId, removal, requestId);
        assertAccepted(outcome.result, `removing ${removed}`);
        // The device resends the same frame (its answer was lost): the original answer, nothing applied twice.
        const resent = await command(chat.members[0]!, chat.chatId, removal, requestId);
        assertAccepted(resent.result, `the removal of ${removed} resent`);
        assert.equal(resent.result.seq, outcome.result.seq, 'the resent removal has the original seq');
        assertRejected(
          (await command(removed, chat.chatId, send(`${runId}-removed-${removed}`, 'am I still here?'))).result,
          'CM_ERR_CHAT_NOT_FOUND',
          'a removed member send',
        );
        for (let k = 0; k < 3; k++) {
          const from = chat.members[k % (chat.members.length - 1)]!;
          const clientMessageId = `${runId}-after-removal-${chat.chatId}-${k}`;
          const after = await command(from, chat.chatId, send(clientMessageId, 'not for the removed'));
          assertAccepted(after.result, 'a send after the removal');
          acked.push({
            chatId: chat.chatId,
            sender: from,
            clientMessageId,
            seq: after.result.seq,
            serverTimeMs: after.result.serverTimeMs!,
          });
        }
      }
      const leaver = chats[Math.min(4, chats.length - 1)]!;
      assertAccepted(
        (await command(leaver.members[1]!, leaver.chatId, { 'chatmesh.chat.LeaveChat': { reason: null } })).result,
        'leave',
      );
      const afterLeave = await command(leaver.members[0]!, leaver.chatId, send(`${runId}-after-leave`, 'bye'));
      assertAccepted(afterLeave.result, 'a send after a member left');
      acked.push({
        chatId: leaver.chatId,
        sender: leaver.members[0]!,
        clientMessageId: `${runId}-after-leave`,
        seq: afterLeave.result.seq,
        serverTimeMs: afterLeave.result.serverTimeMs!,
      });

      const state = await settledState(harness, allChatIds(), allUserIds(), options.settleTimeoutMs);
      for (const { chat, removed } of removals) {
        const inbox = (await readInbox(harness.store, harness.codec, removed)).filter(
          (r) => r.entry.chatId === chat.chatId,
        );
        const removalSeq = state.logs.get(chat.chatId)!.find((row) => row.kind === 'members_removed')!.seq;
        assert.equal(inbox.at(-1)?.ref?.kind, 'MEMBERS_REMOVED', `${removed} learns of the removal`);
        assert.equal(inbox.at(-1)?.ref?.chatSeq, removalSeq, `${removed} gets nothing after seq ${removalSeq}`);
      }
      for (const userId of outsiders) {
        assert.deepEqual(await readInbox(harness.store, harness.codec, userId), [], `${userId}'s inbox is empty`);
      }

      // Routing: the online devices got their own user's entries, every one of them, and nobody else's.
      await waitForPipelineIdle(harness, options.settleTimeoutMs);
      const deliveries = gateway.inboxDeliveries();
      for (const { delivery, inbox } of deliveries) {
        assert.ok(online.has(delivery.userId), `delivery only to online users (got ${delivery.userId})`);
        assert.equal(delivery.deviceId, DEVICE);
        assert.equal(inbox.entry.userId, delivery.userId, "a device gets only its own user's inbox");
        assert.ok(!outsiders.includes(delivery.userId), "non-members' devices get nothing");
      }
      for (const userId of online) {
        const stored = (await readInbox(harness.store, harness.codec, userId)).map((r) => r.inboxSeq);
        const undelivered = (): number[] => {
          const delivered = new Set(
            gateway
              .inboxDeliveries()
              .filter((d) => d.delivery.userId === userId)
              .map((d) => d.inbox.entry.inboxSeq),
          );
          return stored.filter((seq) => !delivered.has(seq));
        };
        await waitFor(() => undelivered().length === 0, {
          description: `every entry of online ${userId} routed to this gateway`,
          timeoutMs: options.settleTimeoutMs,
        }).catch(() => assert.deepEqual(undelivered(), [], `every entry of online ${userId} was routed`));
      }
    });

    test('no duplicates: replaying chat.commands from the start of the run, chat.events and user.inbox from the first fan-out kill, adds no message row and no inbox entry', async () => {
      const chatsBefore = await snapshotStreams(harness.store.chatLog, allChatIds());
      const inboxesBefore = await snapshotStreams(harness.store.inboxLog, allUserIds());
      await harness.stop('ingest');
      await harness.stop('fan-out');
      // Only safe while the groups have no members: both services are stopped.
      for (const { groupId, topic } of CORE_GROUPS) {
        await harness.bus.admin.resetCommittedOffsets(groupId, topic, replayFrom.get(topic)!);
      }
      await harness.start('ingest');
      await harness.start('fan-out');
      await waitForPipelineIdle(harness, options.settleTimeoutMs);
      const ingest = await harness.health('ingest');
      const fanOut = await harness.health('fan-out');
      log(
        `replay: ingest re-answered ${String(ingest['duplicates'])} commands, fan-out re-sequenced ${String(fanOut['replays'])} inbox entries`,
      );
      assert.ok(Number(ingest['duplicates']) >= acked.length, 'ingest really saw the replayed sends');
      // On a shared Kafka other runs' commands may be replayed into this keyspace too; embedded has only ours.
      if (harness.mode === 'embedded') assert.equal(Number(ingest['accepted']), 0, 'and accepted nothing new');
      assert.ok(Number(fanOut['replays']) > 0, 'fan-out really saw the replayed entries');
      assert.deepEqual(
        await snapshotStreams(harness.store.chatLog, allChatIds()),
        chatsBefore,
        'no chat log row added',
      );
      assert.deepEqual(
        await snapshotStreams(harness.store.inboxLog, allUserIds()),
        inboxesBefore,
        'no inbox entry added',
      );
      await settledState(harness, allChatIds(), allUserIds(), options.settleTimeoutMs);
    });

    test('a 1,024-member group: one chat-log row and no inbox row per message (a broadcast chat), the creation in all 1,024 inboxes; a 1,025th member is refused', async () => {
      const max = CHAT_LIMITS.maxGroupMembers;
      const members = Array.from({ length: max }, (_, i) => `${runId}-b${i}`);
      const extra = `${runId}-b${max}`;
      const big: ChatPlan = { chatId: `${runId}-big`, members };
      const created = await command(members[0]!, big.chatId, createGroup(members, 'everyone'));
      assertAccepted(created.result, 'create the 1,024-member group');
      assertRejected(
        (await command(members[0]!, big.chatId, { 'chatmesh.chat.AddMembers': { userIds: [extra] } })).result,
        'CM_ERR_CHAT_TOO_MANY_MEMBERS',
        'a 1,025th member',
      );
      assertRejected(
        (await command(members[0]!, `${runId}-too-big`, createGroup([...members, extra], 'too many'))).result,
        'CM_ERR_CHAT_TOO_MANY_MEMBERS',
        'a group created with 1,025 members',
      );
      const message = await command(members[0]!, big.chatId, send(`${runId}-hello-all`, 'hello everyone'));
      assertAccepted(message.result, 'the message to 1,024');
      assert.equal(message.result.seq, 2);

      const state = await settledState(harness, [big.chatId], [...members, extra], options.settleTimeoutMs);
      const log = state.logs.get(big.chatId)!;
      assert.deepEqual(
        log.map((row) => row.kind),
        ['chat_created', 'message'],
        'one creation, one message row, nothing for the refused commands',
      );
      assert.equal(state.messageRows, 1);
      // Created with 1,024 members, the group is a broadcast chat from the event after its creation on.
      assert.equal(await harness.store.broadcastChats.sinceOf(big.chatId), 2);
      const inboxes = await mapLimit(members, 16, (userId) => readInbox(harness.store, harness.codec, userId));
      const creations = inboxes.flat().filter((row) => row.ref?.kind === 'CHAT_CREATED');
      assert.equal(new Set(creations.map((row) => row.entry.userId)).size, max, 'every member learns of the group');
      assert.equal(creations.length, max, 'once each');
      assert.equal(
        inboxes.flat().filter((row) => row.ref?.kind === 'MESSAGE_RECEIVED').length,
        0,
        'the message is not copied into 1,024 inboxes',
      );
      assert.deepEqual(await readInbox(harness.store, harness.codec, extra), [], 'the refused user got nothing');
      assert.equal(await harness.store.directory.getChat(`${runId}-too-big`), null);
    });
  });
}
