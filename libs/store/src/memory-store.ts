import type {
  BroadcastChatStore,
  ChatCursorStore,
  ChatDirectoryStore,
  ChatRecord,
  ChatStore,
  CursorStore,
  InsertResult,
  LogEntry,
  LogRetention,
  MembershipRecord,
  SequencedLogStore,
  WriterEpochStore,
} from './types.js';
import { DEFAULT_LOG_RETENTION, writeStampOf } from './types.js';
import {
  createMemoryDeviceStore,
  createMemoryPushChannelStore,
  createMemoryPushInboxStore,
  createMemoryReceiptStore,
  createMemorySettingsStore,
} from './memory-social-stores.js';
import { createMemoryAttachmentStore } from './memory-attachment-store.js';
import { createMemoryKeyDirectory } from './memory-key-directory.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** How long log rows and keys live. @default DEFAULT_LOG_RETENTION */
  readonly retention?: LogRetention;
  /** The clock rows expire by (tests pass a fake one). @default Date.now */
  readonly clock?: () => number;
}

/**
 * The in-process twin of the Cassandra store, for embedded mode and fast tests. Same contract, same
 * semantics (conditional inserts, gap-free reads, monotonic heads and cursors, rows expiring by the same
 * retention); nothing survives exit.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): ChatStore {
  const retention = options.retention ?? DEFAULT_LOG_RETENTION;
  const clock = options.clock ?? Date.now;
  return {
    kind: 'memory',
    writerEpochs: createMemoryWriterEpochs(),
    chatLog: createMemoryLog(clock, retention.chatLogSeconds, retention.chatKeySeconds),
    inboxLog: createMemoryLog(clock, retention.inboxSeconds, retention.inboxSeconds),
    directory: createMemoryDirectory(),
    cursors: createMemoryCursors(),
    broadcastChats: createMemoryBroadcastChats(),
    chatCursors: createMemoryChatCursors(),
    receipts: createMemoryReceiptStore(),
    settings: createMemorySettingsStore(),
    devices: createMemoryDeviceStore(),
    pushChannels: createMemoryPushChannelStore(),
    pushInbox: createMemoryPushInboxStore(),
    attachments: createMemoryAttachmentStore(),
    keys: createMemoryKeyDirectory(),
    close: async () => {},
  };
}

/** A stored row or key and what Cassandra would keep beside it: its write stamp and when its TTL runs out. */
interface Stamped<T> {
  readonly value: T;
  readonly stamp: bigint;
  /** Infinity: kept forever. */
  readonly expiresAtMs: number;
}

function createMemoryLog(clock: () => number, rowSeconds: number, keySeconds: number): SequencedLogStore {
  // Each row and key remembers the stamp it was written with; a write with a lower stamp is ignored, as Cassandra
  // resolves writes by their timestamp. Conditional inserts (seeding) count as the lowest stamp. Expired rows and
  // keys read as absent (and are dropped when met), as a TTL'd Cassandra cell does; a rewrite renews the TTL.
  const rows = new Map<string, Map<number, Stamped<LogEntry>>>();
  const keys = new Map<string, Stamped<number>>();
  const heads = new Map<string, number>();
  // Beside the rows and never expiring, as Cassandra's static written_head is.
  const written = new Map<string, number>();
  const noteWritten = (entry: LogEntry): void => {
    if ((written.get(entry.streamId) ?? 0) < entry.seq) written.set(entry.streamId, entry.seq);
  };
  const expiry = (seconds: number): number => (seconds > 0 ? clock() + seconds * 1000 : Number.POSITIVE_INFINITY);
  const stream = (id: string): Map<number, Stamped<LogEntry>> => {
    let s = rows.get(id);
    if (!s) rows.set(id, (s = new Map()));
    return s;
  };
  // Maps iterate in insertion order, which is (close to) write order: dropping expired entries from the front at each
  // write bounds embedded mode's memory to what the retention keeps, without a timer.
  const pruneFront = <T>(map: Map<T, { readonly expiresAtMs: number }>): void => {
    const now = clock();
    for (const [key, value] of map) {
      if (value.expiresAtMs > now) return;
      map.delete(key);
    }
  };
  const liveRow = (streamId: string, seq: number): LogEntry | null => {
    const s = rows.get(streamId);
    const row = s?.get(seq);
    if (row === undefined) return null;
    if (row.expiresAtMs <= clock()) {
      s!.delete(seq);
      return null;
    }
    return row.value;
  };
  const liveKey = (slot: string): number | null => {
    const key = keys.get(slot);
    if (key === undefined) return null;
    if (key.expiresAtMs <= clock()) {
      keys.delete(slot);
      return null;
    }
    return key.value;
  };
  return {
    async write(entry, epoch) {
      const stamp = writeStampOf(epoch);
      const s = stream(entry.streamId);
      const existing = s.get(entry.seq);
      if (!existing || existing.stamp <= stamp)
        s.set(entry.seq, { value: entry, stamp, expiresAtMs: expiry(rowSeconds) });
      noteWritten(entry);
      pruneFront(s);
    },
    async insertIfAbsent(entry): Promise<InsertResult> {
      const existing = liveRow(entry.streamId, entry.seq);
      if (existing) return { applied: false, existing };
      stream(entry.streamId).set(entry.seq, { value: entry, stamp: 0n, expiresAtMs: expiry(rowSeconds) });
      return { applied: true };
    },
    async get(streamId, seq) {
      return liveRow(streamId, seq);
    },
    async readAfter(streamId, afterSeq, limit) {
      const out: LogEntry[] = [];
      // Logs are gap-free, so walking forward until the first missing number reads everything after.
      for (let seq = afterSeq + 1; out.length < limit; seq++) {
        const row = liveRow(streamId, seq);
        if (!row) break;
        out.push(row);
      }
      return out;
    },
    async readBefore(streamId, beforeSeq, limit) {
      const out: LogEntry[] = [];
      if (!rows.has(streamId)) return out;
      for (let seq = beforeSeq - 1; seq >= 1 && out.length < limit; seq--) {
        const row = liveRow(streamId, seq);
        if (row) out.push(row);
      }
      return out;
    },
    async firstKeptAfter(streamId, afterSeq, upToSeq) {
      const s = rows.get(streamId);
      let first: number | null = null;
      if (s === undefined) return null;
      for (const seq of [...s.keys()]) {
        if (seq > afterSeq && seq <= upToSeq && (first === null || seq < first) && liveRow(streamId, seq) !== null) {
          first = seq;
        }
      }
      return first;
    },
    async findKey(streamId, key) {
      return liveKey(`${streamId}\u0000${key}`);
    },
    async findKeys(streamId, wanted) {
      const found = new Map<string, number>();
      for (const key of wanted) {
        const seq = liveKey(`${streamId}\u0000${key}`);
        if (seq !== null) found.set(key, seq);
      }
      return found;
    },
    async writeBatch(entries, epoch) {
      for (const entry of entries) {
        await this.write(entry, epoch);
        await this.putKey(entry.streamId, entry.idempotencyKey, entry.seq, epoch);
      }
    },
    async putKey(streamId, key, seq, epoch) {
      const stamp = writeStampOf(epoch);
      const slot = `${streamId}\u0000${key}`;
      const existing = keys.get(slot);
      if (!existing || existing.stamp <= stamp) keys.set(slot, { value: seq, stamp, expiresAtMs: expiry(keySeconds) });
      pruneFront(keys);
    },
    async getHead(streamId) {
      return heads.get(streamId) ?? 0;
    },
    async raiseHead(streamId, seq) {
      if (seq > (heads.get(streamId) ?? 0)) heads.set(streamId, seq);
    },
    async highestWritten(streamId) {
      return written.get(streamId) ?? 0;
    },
  };
}

/** Epoch claims: a counter per name. */
function createMemoryWriterEpochs(): WriterEpochStore {
  const epochs = new Map<string, number>();
  return {
    async claim(name) {
      const next = (epochs.get(name) ?? 0) + 1;
      epochs.set(name, next);
      return next;
    },
  };
}

function createMemoryDirectory(): ChatDirectoryStore {
  // Each row remembers the sequence that last wrote it, as Cassandra does with USING TIMESTAMP = seq.
  const chats = new Map<string, { chat: ChatRecord; atSeq: number }>();
  const removedAt = new Map<string, number>();
  const members = new Map<string, MembershipRecord[]>();
  const intervals = (chatId: string): MembershipRecord[] => {
    let list = members.get(chatId);
    if (!list) members.set(chatId, (list = []));
    return list;
  };
  return {
    async putChat(chat, atSeq) {
      const current = chats.get(chat.chatId);
      if (!current || current.atSeq <= atSeq) chats.set(chat.chatId, { chat, atSeq });
    },
    async getChat(chatId) {
      return chats.get(chatId)?.chat ?? null;
    },
    async addMember(member) {
      const list = intervals(member.chatId);
      const same = list.findIndex((m) => m.userId === member.userId && m.joinedSeq === member.joinedSeq);
      // Replaying an add must not reopen an interval a later removal closed.
      if (same < 0)
        list.push({
          ...member,
          removedSeq: removedAt.get(intervalKey(member.chatId, member.userId, member.joinedSeq)) ?? null,
        });
    },
    async removeMember(chatId, userId, removedSeq) {
      const list = intervals(chatId);
      list.forEach((m, i) => {
        if (m.userId === userId && m.joinedSeq < removedSeq && (m.removedSeq === null || m.removedSeq > removedSeq)) {
          if (m.removedSeq === null) {
            list[i] = { ...m, removedSeq };
            removedAt.set(intervalKey(chatId, userId, m.joinedSeq), removedSeq);
          }
        }
      });
    },
    async membersAt(chatId, seq) {
      return (members.get(chatId) ?? []).filter(
        (m) => m.joinedSeq <= seq && (m.removedSeq === null || seq < m.removedSeq),
      );
    },
    async currentMembers(chatId) {
      return (members.get(chatId) ?? []).filter((m) => m.removedSeq === null);
    },
    async chatsOfUser(userId) {
      const out: Array<{ chatId: string; role: 'admin' | 'member'; joinedSeq: number }> = [];
      for (const [chatId, list] of members) {
        const open = list.find((m) => m.userId === userId && m.removedSeq === null);
        if (open) out.push({ chatId, role: open.role, joinedSeq: open.joinedSeq });
      }
      return out.sort((a, b) => a.chatId.localeCompare(b.chatId));
    },
  };
}

function intervalKey(chatId: string, userId: string, joinedSeq: number): string {
  return `${chatId}\u0000${userId}\u0000${joinedSeq}`;
}

function createMemoryCursors(): CursorStore {
  const cursors = new Map<string, Map<string, number>>();
  return {
    async advance(userId, deviceId, ackedSeq) {
      let devices = cursors.get(userId);
      if (!devices) cursors.set(userId, (devices = new Map()));
      if (ackedSeq > (devices.get(deviceId) ?? 0)) devices.set(deviceId, ackedSeq);
    },
    async get(userId, deviceId) {
      return cursors.get(userId)?.get(deviceId) ?? 0;
    },
    async listDevices(userId) {
      return [...(cursors.get(userId) ?? new Map<string, number>())]
        .map(([deviceId, ackedSeq]) => ({ deviceId, ackedSeq }))
        .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    },
  };
}

/** Broadcast chats: the first mark of a chat stays, as with Cassandra's INSERT ... IF NOT EXISTS. */
function createMemoryBroadcastChats(): BroadcastChatStore {
  const since = new Map<string, number>();
  return {
    async mark(chatId, sinceSeq) {
      const existing = since.get(chatId);
      if (existing !== undefined) return existing;
      since.set(chatId, sinceSeq);
      return sinceSeq;
    },
    async sinceOf(chatId) {
      return since.get(chatId) ?? null;
    },
    async sinceOfMany(chatIds) {
      const out = new Map<string, number>();
      for (const chatId of chatIds) {
        const seq = since.get(chatId);
        if (seq !== undefined) out.set(chatId, seq);
      }
      return out;
    },
  };
}

/** Per-device positions in broadcast chats: the highest acked seq wins, as with USING TIMESTAMP = seq. */
function createMemoryChatCursors(): ChatCursorStore {
  const positions = new Map<string, Map<string, number>>();
  const deviceKey = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;
  return {
    async advance(userId, deviceId, chatId, ackedSeq) {
      const key = deviceKey(userId, deviceId);
      let chats = positions.get(key);
      if (!chats) positions.set(key, (chats = new Map()));
      const current = chats.get(chatId);
      if (current === undefined || ackedSeq > current) chats.set(chatId, ackedSeq);
    },
    async list(userId, deviceId) {
      return new Map(positions.get(deviceKey(userId, deviceId)) ?? []);
    },
  };
}
