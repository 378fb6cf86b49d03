import type { Bus, OutgoingRecord } from '@chatmesh/bus';
import type { Logger } from '@chatmesh/logging';
import { TOPICS, valueSubjectOf, type PushRequest, type SchemaCodec } from '@chatmesh/schemas';
import { BoundedLruMap } from '@chatmesh/lru';

/** Where records go: a handler's transactional sink, or the shared producer outside a handler. */
export interface BytesSink {
  sendBytes(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
}

/** Which of many users have a device online; the presence registry answers it (`onlineDevicesOfUsers`). */
export interface OnlineUsersLocator {
  onlineDevicesOfUsers(userIds: readonly string[]): Promise<ReadonlyMap<string, readonly unknown[]>>;
}

/** Runs `callback` after `delayMs`; returns its cancellation. Tests pass a manual one. */
export type Schedule = (callback: () => void, delayMs: number) => () => void;

/** The real timers, unreferenced: a pending wake-up never keeps the process alive on its own. */
export const realSchedule: Schedule = (callback, delayMs) => {
  const timer = setTimeout(callback, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

/** One broadcast message that may need a wake-up push. */
export interface BroadcastMessage {
  readonly chatId: string;
  readonly seq: number;
  readonly senderUserId: string;
  /** The members at `seq`. */
  readonly members: readonly string[];
}

/** Coalesced wake-up pushes for the offline members of broadcast chats (they have no inbox entry to push from). */
export interface BroadcastPusher {
  /**
   * Counts the message and scans the chat's offline members now if the chat's window allows it (then pushes go
   * through `sink`); otherwise a timer scans them when the window ends, through the shared producer.
   * @returns the pushes sent or staged now
   */
  onMessage(message: BroadcastMessage, sink: BytesSink): Promise<number>;
  /** Pushes sent or staged so far, timers included. */
  readonly pushes: number;
  /** Cancels the timers and sends what they would have sent (best effort), then waits for running flushes. */
  stop(): Promise<void>;
}

/** Records per producer call and users per presence lookup. */
const BATCH = 512;
/** Chats whose push state is kept; the oldest is forgotten past it (it then scans at its next message). */
const MAX_CHATS = 100_000;

interface ChatPushState {
  readonly chatId: string;
  /** When the chat was last scanned (epoch ms); -Infinity before the first scan. */
  lastScanMs: number;
  /** Messages not yet covered by a push scan. */
  pending: number;
  /** The newest message seen, its sender and its members: what the next scan covers. */
  seq: number;
  senderUserId: string;
  members: readonly string[];
  /** Cancels the timer that scans at the window's end; set only while messages are pending. */
  cancel: (() => void) | null;
}

/**
 * Creates the pusher. Per chat, at most one scan per `windowMs` (0: one per message): the members at the newest
 * message minus its sender, looked up in the presence registry; each with no device online gets one
 * `PushRequest` counting the messages since the chat's previous scan in this process. The first message after a
 * quiet window is scanned at once; later ones in the window are counted and scanned by one timer at its end.
 *
 * In-process state only: after a restart or a rebalance the new owner scans the next message at once, and the
 * messages pending in a timer of a process that died are pushed only with the chat's next message. A scan at a
 * message is staged in the record's transaction; a timer's goes through the shared producer (a fenced zombie may
 * still send it: a spare wake-up, no content). The request id `<userId>/chat/<chatId>/<seq>` is the same when a
 * scan of the same seq is redone (a retried record), so push can dedupe on it.
 */
export function createBroadcastPusher(deps: {
  codec: SchemaCodec;
  bus: Bus;
  presence: OnlineUsersLocator;
  windowMs: number;
  logger?: Logger;
  clock?: () => number;
  schedule?: Schedule;
}): BroadcastPusher {
  const { codec, bus, presence, windowMs, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const schedule = deps.schedule ?? realSchedule;
  const subject = valueSubjectOf(TOPICS.pushRequests.name);
  const direct: BytesSink = {
    sendBytes: async (topic, records) => void (await bus.producer.send(topic, records)),
  };
  const states = new BoundedLruMap<string, ChatPushState>(MAX_CHATS);
  /** The states with a timer, so stop() can find them after an eviction from `states`. */
  const timed = new Set<ChatPushState>();
  const flushing = new Set<Promise<void>>();
  let pushes = 0;
  let stopped = false;

  async function onlineUsers(userIds: readonly string[]): Promise<Set<string>> {
    const online = new Set<string>();
    try {
      for (let i = 0; i < userIds.length; i += BATCH) {
        const devices = await presence.onlineDevicesOfUsers(userIds.slice(i, i + BATCH));
        for (const [userId, list] of devices) if (list.length > 0) online.add(userId);
      }
    } catch (error) {
      // As the inbox sequencer: without presence, everyone is woken rather than no one.
      logger?.warn({ err: error }, 'presence registry unavailable: pushing to every member of the broadcast chat');
      online.clear();
    }
    return online;
  }

  /** Scans the chat's members as of its newest message and pushes the offline ones; restores the count on failure. */
  async function scan(state: ChatPushState, sink: BytesSink): Promise<number> {
    const { chatId, seq, senderUserId, members, pending, lastScanMs } = state;
    const count = Math.max(1, pending);
    state.pending = 0;
    state.lastScanMs = clock();
    try {
      const targets = members.filter((userId) => userId !== senderUserId);
      const online = await onlineUsers(targets);
      const createdAtMs = clock();
      let batch: OutgoingRecord[] = [];
      let sent = 0;
      for (const userId of targets) {
        if (online.has(userId)) continue;
        const push: PushRequest = {
          userId,
          requestId: `${userId}/chat/${chatId}/${seq}`,
          chatId,
          // This chat's messages since its previous scan: a broadcast chat has no inbox position to count from.
          unreadCount: count,
          newMessageCount: count,
          // No inbox entry covers it (null, not 0: the field is optional).
          upToInboxSeq: null,
          targets: [],
          createdAtMs,
        };
        batch.push({ key: userId, value: await codec.encode(subject, push) });
        if (batch.length >= BATCH) {
          await sink.sendBytes(TOPICS.pushRequests.name, batch);
          sent += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) await sink.sendBytes(TOPICS.pushRequests.name, batch);
      sent += batch.length;
      pushes += sent;
      return sent;
    } catch (error) {
      // Nothing is lost: the next scan of the chat (a retry of the record, or its next message) carries the count.
      state.pending += pending;
      state.lastScanMs = lastScanMs;
      throw error;
    }
  }

  function flushAtWindowEnd(state: ChatPushState): void {
    state.cancel = null;
    timed.delete(state);
    if (state.pending === 0) return;
    const flush = scan(state, direct)
      .then(() => undefined)
      .catch((error: unknown) => {
        logger?.warn({ err: error, chatId: state.chatId }, 'broadcast wake-up pushes failed: the next message retries');
      })
      .finally(() => flushing.delete(flush));
    flushing.add(flush);
  }

  return {
    get pushes() {
      return pushes;
    },
    async onMessage(message, sink) {
      let state = states.peek(message.chatId);
      if (!state) {
        state = {
          chatId: message.chatId,
          lastScanMs: -Infinity,
          pending: 0,
          seq: 0,
          senderUserId: '',
          members: [],
          cancel: null,
        };
        states.set(message.chatId, state);
        // Beyond MAX_CHATS the oldest is forgotten; a forgotten chat with a running timer still flushes: its state
        // lives on in the timer.
      }
      if (message.seq > state.seq) {
        state.pending++;
        state.seq = message.seq;
        state.senderUserId = message.senderUserId;
        state.members = message.members;
      } else {
        // A redelivered message (a retried record, a duplicate emission): not counted twice, but it gets a scan
        // again, whose request ids match the first one's if that one was published.
        state.pending = Math.max(state.pending, 1);
      }
      if (state.cancel || stopped) return 0;
      const sinceScan = clock() - state.lastScanMs;
      if (windowMs === 0 || sinceScan >= windowMs) return scan(state, sink);
      const pending = state;
      pending.cancel = schedule(() => flushAtWindowEnd(pending), windowMs - sinceScan);
      timed.add(pending);
      return 0;
    },
    async stop() {
      stopped = true;
      for (const state of [...timed]) {
        state.cancel?.();
        flushAtWindowEnd(state);
      }
      await Promise.allSettled([...flushing]);
    },
  };
}
