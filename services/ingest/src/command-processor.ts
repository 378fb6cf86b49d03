import type { Bus } from '@chatmesh/bus';
import { ERROR_CODES, isChatmeshError } from '@chatmesh/errors';
import type { Logger } from '@chatmesh/logging';
import { createTypedSink, type TypedProducer, type TypedSink } from '@chatmesh/runtime';
import {
  isBranch,
  gatewayDeliveriesTopic,
  TOPICS,
  valueSubjectOf,
  type ChatCommand,
  type ChatEvent,
  type ChatMember,
  type CommandResult,
  type GatewayDelivery,
  type SchemaCodec,
  type SendMessage,
} from '@chatmesh/schemas';
import {
  appendFenced,
  appendFencedBatch,
  FencedHeads,
  WriterEpochs,
  type AppendDraft,
  type AttachmentRefRecord,
  type ChatStore,
  type LogEntry,
} from '@chatmesh/store';
import { TokenBuckets } from '@chatmesh/rate-limit';
import { claimAttachments, type AttachmentCheckDeps } from './attachment-claims.js';
import { ChatStateCache } from './chat-state.js';
import { CREATE_KEY, planCommand, requestKey, sendKey } from './command-rules.js';
import { CommandRejectedError } from './reject-error.js';

/** Tunables of {@link createCommandProcessor}. */
export interface CommandProcessorOptions {
  /** Sustained sends per second one user may make in one chat. @default 20 */
  readonly sendRatePerSecond?: number;
  /** Sends one user may make at once in one chat. @default 40 */
  readonly sendBurst?: number;
  /** Chats whose state is cached. @default 50000 */
  readonly maxCachedChats?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** What the processor needs; the service passes its deps. */
export interface CommandProcessorDeps {
  readonly store: ChatStore;
  readonly codec: SchemaCodec;
  readonly bus: Bus;
  readonly typed: TypedProducer;
  readonly logger: Logger;
  /** The object store and claim window for attachment references; absent, any reference is refused. */
  readonly attachments?: AttachmentCheckDeps;
}

/** The writer's name under which ingest claims its epochs. */
export const CHAT_LOG_WRITER = 'chat_log';

/**
 * Where one command runs: the writer epoch of its partition's ownership and the sink of its outputs (the chat
 * event and the answer), staged in the bus's transaction so a fenced zombie publishes nothing.
 */
export interface CommandContext {
  readonly epoch: number;
  readonly out: TypedSink;
}

/** The outcome of one command, for tests and metrics. */
export type CommandOutcome =
  | { readonly accepted: true; readonly seq: number; readonly serverTimeMs: number; readonly duplicate: boolean }
  | { readonly accepted: false; readonly code: string };

/** Ingest's single-writer logic for one chat.commands record. */
export interface CommandProcessor {
  /**
   * Validates, dedupes, sequences and stores one command, emits its chat event and answers the sender.
   * Safe to call again with the same command after a crash at any point: nothing is stored twice, the
   * event is emitted again (fan-out dedupes on the chat sequence), and the answer is the original one.
   * @param context the ownership's epoch and the transactional sink; without it (tests, tools) the processor claims
   *   an epoch of its own once and sends directly
   * @throws on store or bus faults (the bus retries the record, then dead-letters it)
   */
  process(command: ChatCommand, context?: CommandContext): Promise<CommandOutcome>;
  /**
   * {@link process} for consecutive commands of one chat (the bus hands a busy chat's waiting commands over
   * together): runs of sends are deduped with one key read, stored with one batched append and emitted as one staged
   * output; other commands (lifecycle) go one by one in their place. Outcomes in the commands' order.
   * @throws as {@link process}; the bus then handles the commands one by one
   */
  processBatch(commands: readonly ChatCommand[], context?: CommandContext): Promise<CommandOutcome[]>;
  /**
   * Tells the sending device that its command failed for good on the server side (the bus dead-lettered it after its
   * retries): a retriable `CM_ERR_CHAT_COMMAND_FAILED` refusal, so the device retries instead of waiting.
   */
  answerFailed(command: ChatCommand, out: TypedSink): Promise<void>;
}

/** Creates ingest's command processor. */
export function createCommandProcessor(
  deps: CommandProcessorDeps,
  options: CommandProcessorOptions = {},
): CommandProcessor {
  const { store, codec, bus, logger } = deps;
  const clock = options.clock ?? Date.now;
  const states = new ChatStateCache(store, options.maxCachedChats);
  const heads = new FencedHeads();
  const standalone = new WriterEpochs(store.writerEpochs, CHAT_LOG_WRITER);
  const directSink = createTypedSink(codec, bus);
  const contextOf = async (context: CommandContext | undefined): Promise<CommandContext> =>
    context ?? { epoch: await standalone.epochFor('standalone'), out: directSink };
  const sendLimits = new TokenBuckets({
    ratePerSecond: options.sendRatePerSecond ?? 20,
    burst: options.sendBurst ?? 40,
  });
  const eventSubject = valueSubjectOf(TOPICS.chatEvents.name);

  async function decodeEvent(entry: LogEntry): Promise<ChatEvent> {
    return (await codec.decode<ChatEvent>(entry.payload)).value;
  }

  async function answer(
    out: TypedSink,
    command: ChatCommand,
    result: Omit<CommandResult, 'requestId' | 'chatId'>,
  ): Promise<void> {
    const { origin } = command;
    const delivery: GatewayDelivery = {
      gatewayId: origin.gatewayId,
      userId: origin.userId,
      deviceId: origin.deviceId,
      createdAtMs: clock(),
      payload: { 'chatmesh.gateway.CommandResult': { requestId: origin.requestId, chatId: command.chatId, ...result } },
    };
    try {
      await out.send(gatewayDeliveriesTopic(origin.gatewayId).name, origin.userId, delivery);
    } catch (error) {
      // The answer is a courtesy: a device whose gateway is gone retries with the same ids and gets the
      // original acknowledgement from the dedupe keys. Never fail (and so re-run) the command for it.
      logger.warn(
        { err: error, gatewayId: origin.gatewayId, chatId: command.chatId },
        'could not answer the sending device',
      );
    }
  }

  /** Opens each member's interval at the event's sequence number (idempotent, versioned by seq). */
  async function addMembers(event: ChatEvent, members: ReadonlyArray<ChatMember>): Promise<void> {
    for (const member of members) {
      await store.directory.addMember({
        chatId: event.chatId,
        userId: member.userId,
        role: member.role === 'ADMIN' ? 'admin' : 'member',
        joinedSeq: event.seq,
        removedSeq: null,
        addedBy: event.origin.userId,
      });
    }
  }

  /** Applies a stored lifecycle event to the directory; versioned by seq, so replays are harmless. */
  async function applyToDirectory(event: ChatEvent): Promise<void> {
    const { chatId, seq, serverTimeMs } = event;
    const body = event.event;
    if (isBranch(body, 'chatmesh.chat.ChatCreated')) {
      const created = body['chatmesh.chat.ChatCreated'];
      await store.directory.putChat(
        {
          chatId,
          kind: created.kind === 'GROUP' ? 'group' : 'direct',
          name: created.name,
          pictureRef: created.pictureAttachmentId,
          createdBy: event.origin.userId,
          createdAtMs: serverTimeMs,
          updatedAtMs: serverTimeMs,
        },
        seq,
      );
      await addMembers(event, created.members);
    } else if (isBranch(body, 'chatmesh.chat.ChatUpdated')) {
      const update = body['chatmesh.chat.ChatUpdated'];
      const chat = await store.directory.getChat(chatId);
      if (chat) {
        await store.directory.putChat(
          {
            ...chat,
            name: update.name ?? chat.name,
            pictureRef: update.pictureCleared ? null : (update.pictureAttachmentId ?? chat.pictureRef),
            updatedAtMs: serverTimeMs,
          },
          seq,
        );
      }
    } else if (isBranch(body, 'chatmesh.chat.MembersAdded')) {
      await addMembers(event, body['chatmesh.chat.MembersAdded'].members);
    } else if (isBranch(body, 'chatmesh.chat.MembersRemoved')) {
      for (const userId of body['chatmesh.chat.MembersRemoved'].userIds) {
        await store.directory.removeMember(chatId, userId, seq);
      }
    }
  }

  async function acceptStored(
    { out, epoch }: CommandContext,
    command: ChatCommand,
    entry: LogEntry,
    duplicate: boolean,
  ): Promise<CommandOutcome> {
    const event = await decodeEvent(entry);
    await applyToDirectory(event);
    await states.reload(command.chatId, epoch);
    // Emitted again on every retry: a crash may have come between storing and emitting. Fan-out
    // dedupes on (chat, seq), so a second copy adds nothing. Both are staged in the partition's transaction.
    await Promise.all([
      out.sendBytes(TOPICS.chatEvents.name, [{ key: command.chatId, value: entry.payload }]),
      answer(out, command, {
        accepted: true,
        seq: entry.seq,
        serverTimeMs: event.serverTimeMs,
        clientMessageId: null,
        reason: null,
      }),
    ]);
    return { accepted: true, seq: entry.seq, serverTimeMs: event.serverTimeMs, duplicate };
  }

  /**
   * The answer to a command the bus dead-letters after its retries (a long store outage, a bug): without it the
   * sending device would wait until it reconnects. Retriable, with the table's message only: the cause (a driver
   * error naming hosts) stays in the dead letter and the log, not on the device.
   */
  async function answerFailed(out: TypedSink, command: ChatCommand): Promise<void> {
    const c = command.command;
    const code = 'CM_ERR_CHAT_COMMAND_FAILED' as const;
    await answer(out, command, {
      accepted: false,
      seq: null,
      serverTimeMs: null,
      clientMessageId: isBranch(c, 'chatmesh.chat.SendMessage') ? c['chatmesh.chat.SendMessage'].clientMessageId : null,
      reason: { code, message: ERROR_CODES[code].message, retriable: true },
    });
  }

  async function rejectCommand(
    out: TypedSink,
    command: ChatCommand,
    error: CommandRejectedError,
  ): Promise<CommandOutcome> {
    const c = command.command;
    const clientMessageId = isBranch(c, 'chatmesh.chat.SendMessage')
      ? c['chatmesh.chat.SendMessage'].clientMessageId
      : null;
    await answer(out, command, {
      accepted: false,
      seq: null,
      serverTimeMs: null,
      clientMessageId,
      reason: { code: error.code, message: error.message, retriable: error.retriable },
    });
    return { accepted: false, code: error.code };
  }

  /**
   * Sends of one chat, in order: one findKeys, one appendFencedBatch, one staged output of chat events. A command
   * refused by the rules is answered in its place; a store, bus or encoding fault throws for the whole run (the bus
   * then processes the commands one by one, where an unencodable message is refused alone).
   */
  async function processSends(commands: readonly SendCommand[], context: CommandContext): Promise<CommandOutcome[]> {
    const { epoch, out } = context;
    const chatId = commands[0]!.chatId;
    const keys = commands.map((command) => sendKey(command.origin.userId, sendOf(command).clientMessageId));
    // The predecessors a send names are looked up with the sends' own keys: one read for both.
    const after = commands.map((command) => {
      const previous = sendOf(command).afterClientMessageId;
      return previous === null ? null : sendKey(command.origin.userId, previous);
    });
    const predecessors = after.filter((key): key is string => key !== null);
    const known = await store.chatLog.findKeys(chatId, [...new Set([...keys, ...predecessors])]);
    const stored = new Map<string, LogEntry>();
    await Promise.all(
      [...known].map(async ([key, seq]) => {
        // A predecessor only needs its key indexed, not its row read back.
        if (!keys.includes(key)) return;
        const entry = await store.chatLog.get(chatId, seq);
        if (entry?.idempotencyKey === key) stored.set(key, entry);
      }),
    );
    const state = await states.get(chatId, epoch);
    const serverTimeMs = clock();
    // Attachment references of the new sends, checked together (store HEADs and metadata reads overlap).
    const claims = await Promise.all(
      commands.map((command, index) =>
        stored.has(keys[index]!)
          ? null
          : claimAttachments(deps.attachments, store.directory, command, serverTimeMs).then(
              (refs) => ({ refs }),
              (error: unknown) => ({ error }),
            ),
      ),
    );
    const refsToRecord: AttachmentRefRecord[] = [];
    type Slot =
      | { readonly entry: LogEntry }
      | { readonly rejected: CommandRejectedError }
      | { readonly draft: number; readonly clientMessageId: string };
    const slots: Slot[] = [];
    const drafts: AppendDraft[] = [];
    const planned = new Set<string>();
    /** Keys of this run's sends that will be appended (a refused one is not). */
    const appending = new Set<string>();
    commands.forEach((command, index) => {
      const key = keys[index]!;
      const entry = stored.get(key);
      if (entry) return void slots.push({ entry });
      try {
        const predecessor = after[index];
        // Stored before, or appended earlier in this run.
        if (predecessor != null && !known.has(predecessor) && !appending.has(predecessor)) {
          throw new CommandRejectedError(
            'CM_ERR_CHAT_OUT_OF_ORDER',
            `the sender's earlier message ${sendOf(command).afterClientMessageId ?? ''} is not stored yet`,
            chatId,
          );
        }
        const plan = planCommand(command, state);
        // After the chat's rules: a non-member learns nothing about attachments.
        const claim = claims[index];
        if (claim && 'error' in claim) throw claim.error;
        // A message repeated within the batch is one message: it takes one token (the append stores it once).
        const repeated = planned.has(key);
        planned.add(key);
        if (!repeated && !sendLimits.take(`${chatId}\u0000${command.origin.userId}`, 1, clock()).allowed) {
          throw new CommandRejectedError(
            'CM_ERR_CHAT_RATE_LIMITED',
            'too many messages in this chat; retry later',
            chatId,
          );
        }
        const { origin } = command;
        appending.add(key);
        if (claim && !repeated) refsToRecord.push(...claim.refs);
        slots.push({ draft: drafts.length, clientMessageId: sendOf(command).clientMessageId });
        drafts.push({
          streamId: chatId,
          idempotencyKey: plan.idempotencyKey,
          keyChecked: plan.idempotencyKey === key,
          kind: plan.kind,
          createdAtMs: serverTimeMs,
          payload: (seq) =>
            codec.encode(eventSubject, { chatId, seq, serverTimeMs, origin, event: plan.event } satisfies ChatEvent),
        });
      } catch (error) {
        if (!(error instanceof CommandRejectedError)) throw error;
        slots.push({ rejected: error });
      }
    });
    // Refs first: once a message is stored, the sweeper must already see that it refers to its attachments.
    await Promise.all(refsToRecord.map((ref) => store.attachments.addRef(ref)));
    const appended = await appendFencedBatch(store.chatLog, heads, drafts, epoch);
    const events: Array<{ key: string; value: Buffer }> = [];
    const answers: Array<Promise<unknown>> = [];
    const outcomes: CommandOutcome[] = [];
    for (const [index, slot] of slots.entries()) {
      const command = commands[index]!;
      if ('rejected' in slot) {
        answers.push(rejectCommand(out, command, slot.rejected).then((outcome) => (outcomes[index] = outcome)));
        continue;
      }
      const { entry, created } = 'entry' in slot ? { entry: slot.entry, created: false } : appended[slot.draft]!;
      // A new row's event is what was just encoded; only a duplicate needs the stored bytes read back.
      const original = created ? null : await decodeEvent(entry);
      const timeMs = original?.serverTimeMs ?? serverTimeMs;
      const clientMessageId = 'clientMessageId' in slot ? slot.clientMessageId : sendOf(command).clientMessageId;
      // Emitted again for a duplicate (as in process()): fan-out dedupes on (chat, seq).
      events.push({ key: chatId, value: entry.payload });
      answers.push(
        answer(out, command, { accepted: true, seq: entry.seq, serverTimeMs: timeMs, clientMessageId, reason: null }),
      );
      outcomes[index] = { accepted: true, seq: entry.seq, serverTimeMs: timeMs, duplicate: !created };
    }
    await Promise.all([events.length > 0 ? out.sendBytes(TOPICS.chatEvents.name, events) : undefined, ...answers]);
    return outcomes;
  }

  async function processOne(command: ChatCommand, context: CommandContext): Promise<CommandOutcome> {
    const { chatId, origin } = command;
    const c = command.command;
    const { epoch, out } = context;
    try {
      // Sends take one path, alone or batched (an encoding fault of a lone send is refused below, not retried).
      if (isSend(command)) return (await processSends([command], context))[0]!;
      // A redelivered membership or metadata command is answered from its first result: planned against the
      // directory it already changed, it would be refused (the leaver is no longer a member...) and its event never
      // emitted. (A retried send is answered from its first result the same way, in processSends.)
      const storedKey = isBranch(c, 'chatmesh.chat.CreateChat') ? null : requestKey(origin.userId, origin.requestId);
      // Looked up here, so the append below need not read the key again (one Cassandra read less).
      let keyChecked = false;
      if (storedKey !== null) {
        const seq = await store.chatLog.findKey(chatId, storedKey);
        const entry = seq === null ? null : await store.chatLog.get(chatId, seq);
        if (entry?.idempotencyKey === storedKey) return await acceptStored(context, command, entry, true);
        keyChecked = true;
      }
      const state = await states.get(chatId, epoch);
      const plan = planCommand(command, state);
      const serverTimeMs = clock();
      // A group picture is an attachment reference like a message's.
      const refs = await claimAttachments(deps.attachments, store.directory, command, serverTimeMs);
      await Promise.all(refs.map((ref) => store.attachments.addRef(ref)));
      const { entry, created } = await appendFenced(
        store.chatLog,
        heads,
        {
          streamId: chatId,
          idempotencyKey: plan.idempotencyKey,
          keyChecked: keyChecked && plan.idempotencyKey === storedKey,
          kind: plan.kind,
          createdAtMs: serverTimeMs,
          payload: (seq) =>
            codec.encode(eventSubject, { chatId, seq, serverTimeMs, origin, event: plan.event } satisfies ChatEvent),
        },
        epoch,
      );
      if (!created && plan.idempotencyKey === CREATE_KEY) {
        const existing = await decodeEvent(entry);
        const sameRequest = existing.origin.userId === origin.userId && existing.origin.requestId === origin.requestId;
        const createKind = isBranch(c, 'chatmesh.chat.CreateChat') ? c['chatmesh.chat.CreateChat'].kind : null;
        // A direct chat exists once per pair: its second creation (by either user) is simply acknowledged.
        if (!sameRequest && createKind === 'GROUP') {
          throw new CommandRejectedError('CM_ERR_CHAT_ALREADY_EXISTS', 'a chat with this id already exists', chatId);
        }
      }
      return await acceptStored(context, command, entry, !created);
    } catch (error) {
      if (error instanceof CommandRejectedError) return rejectCommand(out, command, error);
      if (isChatmeshError(error) && error.code === 'CM_ERR_SCHEMA_ENCODE') {
        // A value the schema cannot hold (e.g. out-of-range numbers) is the sender's fault, not a fault to retry.
        return rejectCommand(
          out,
          command,
          new CommandRejectedError('CM_ERR_CHAT_INVALID_COMMAND', error.message, chatId),
        );
      }
      throw error;
    }
  }

  return {
    answerFailed: (command, out) => answerFailed(out, command),
    async process(command, given) {
      return processOne(command, await contextOf(given));
    },
    async processBatch(commands, given) {
      const context = await contextOf(given);
      const outcomes: CommandOutcome[] = [];
      let sends: SendCommand[] = [];
      const flushSends = async (): Promise<void> => {
        if (sends.length === 0) return;
        const run = sends;
        sends = [];
        outcomes.push(...(run.length === 1 ? [await processOne(run[0]!, context)] : await processSends(run, context)));
      };
      for (const command of commands) {
        // A run of sends shares one chat (the bus batches per key); anything else keeps its place in the order.
        if (isSend(command) && (sends.length === 0 || sends[0]!.chatId === command.chatId)) {
          sends.push(command);
          continue;
        }
        await flushSends();
        if (isSend(command)) sends.push(command);
        else outcomes.push(await processOne(command, context));
      }
      await flushSends();
      return outcomes;
    },
  };
}

/** A ChatCommand that is a send. */
type SendCommand = ChatCommand & { readonly command: { readonly 'chatmesh.chat.SendMessage': SendMessage } };

function isSend(command: ChatCommand): command is SendCommand {
  return isBranch(command.command, 'chatmesh.chat.SendMessage');
}

function sendOf(command: SendCommand): SendMessage {
  return command.command['chatmesh.chat.SendMessage'];
}
