import type {
  BroadcastChatStore,
  ChatCursorStore,
  ChatDirectoryStore,
  ChatRecord,
  ChatStore,
  CursorStore,
  InsertResult,
  LogEntry,
  MembershipRecord,
  SequencedLogStore,
  WriterEpochStore,
} from './types.js';
import { writeStampOf } from './types.js';
import {
  createMemoryDeviceStore,
  createMemoryPushChannelStore,
  createMemoryPushInboxStore,
  createMemoryReceiptStore,
  createMemorySettingsStore,
} from './memory-social-stores.js';
import { createMemoryAttachmentStore } from './memory-attachment-store.js';
import { createMemoryKeyDirectory } from './memory-key-directory.js';

/**
 * The in-process twin of the Cassandra store, for embedded mode and fast tests. Same contract, same
 * semantics (conditional inserts, gap-free reads, monotonic heads and cursors); nothing survives exit.
 */
export function createMemoryStore(): ChatStore {
  return {
    kind: 'memory',
    writerEpochs: createMemoryWriterEpochs(),
    chatLog: createMemoryLog(),
    inboxLog: createMemoryLog(),
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

function createMemoryLog(): SequencedLogStore {
  // Each row and key remembers the stamp it was written with; a write with a lower stamp is ignored, as Cassandra
  // resolves writes by their timestamp. Conditional inserts (seeding) count as the lowest stamp.
  const rows = new Map<string, Map<number, { entry: LogEntry; stamp: bigint }>>();
  const keys = new Map<string, { seq: number; stamp: bigint }>();
  const heads = new Map<string, number>();
  const stream = (id: string): Map<number, { entry: LogEntry; stamp: bigint }> => {
    let s = rows.get(id);
    if (!s) rows.set(id, (s = new Map()));
    return s;
  };
  return {
    async write(entry, epoch) {
      const stamp = writeStampOf(epoch);
      const s = stream(entry.streamId);
      const existing = s.get(entry.seq);
      if (!existing || existing.stamp <= stamp) s.set(entry.seq, { entry, stamp });
    },
    async insertIfAbsent(entry): Promise<InsertResult> {
      const s = stream(entry.streamId);
      const existing = s.get(entry.seq);
      if (existing) return { applied: false, existing: existing.entry };
      s.set(entry.seq, { entry, stamp: 0n });
      return { applied: true };
    },
    async get(streamId, seq) {
      return rows.get(streamId)?.get(seq)?.entry ?? null;
    },
    async readAfter(streamId, afterSeq, limit) {
      const s = rows.get(streamId);
      const out: LogEntry[] = [];
      // Logs are gap-free, so walking forward until the first missing number reads everything after.
      for (let seq = afterSeq + 1; s && out.length < limit; seq++) {
        const row = s.get(seq);
        if (!row) break;
        out.push(row.entry);
      }
      return out;
    },
    async readBefore(streamId, beforeSeq, limit) {
      const s = rows.get(streamId);
      const out: LogEntry[] = [];
      for (let seq = beforeSeq - 1; s && seq >= 1 && out.length < limit; seq--) {
        const row = s.get(seq);
        if (row) out.push(row.entry);
      }
      return out;
    },
    async findKey(streamId, key) {
      return keys.get(`${streamId}\u0000${key}`)?.seq ?? null;
    },
    async findKeys(streamId, wanted) {
      const found = new Map<string, number>();
      for (const key of wanted) {
        const known = keys.get(`${streamId}\u0000${key}`);
        if (known) found.set(key, known.seq);
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
      if (!existing || existing.stamp <= stamp) keys.set(slot, { seq, stamp });
    },
    async getHead(streamId) {
      return heads.get(streamId) ?? 0;
    },
    async raiseHead(streamId, seq) {
      if (seq > (heads.get(streamId) ?? 0)) heads.set(streamId, seq);
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
