import {
  DEFAULT_USER_SETTINGS,
  type DeliveryDeadline,
  type DeviceRecord,
  type DeviceStore,
  type PushChannelRecord,
  type PushChannelStore,
  type PushInboxEntry,
  type PushInboxStore,
  type ReceiptPointers,
  type ReceiptStore,
  type UserSettings,
  type UserSettingsStore,
} from './types.js';

const ZERO: ReceiptPointers = Object.freeze({ deliveredSeq: 0, readSeq: 0 });

/** In-process {@link ReceiptStore}: same monotonic pointers and compare-and-set sweep cursor. */
export function createMemoryReceiptStore(): ReceiptStore {
  const pointers = new Map<string, Map<string, ReceiptPointers>>();
  const deadlines = new Map<string, Map<string, DeliveryDeadline>>();
  const cursors = new Map<number, number>();
  return {
    async pointersOfChat(chatId) {
      return new Map(pointers.get(chatId) ?? []);
    },
    async pointers(chatId, userId) {
      return pointers.get(chatId)?.get(userId) ?? ZERO;
    },
    async raise(chatId, userId, raise) {
      let chat = pointers.get(chatId);
      if (!chat) pointers.set(chatId, (chat = new Map()));
      const current = chat.get(userId) ?? ZERO;
      chat.set(userId, {
        deliveredSeq: Math.max(current.deliveredSeq, raise.deliveredSeq ?? 0),
        readSeq: Math.max(current.readSeq, raise.readSeq ?? 0),
      });
    },
    async addDeadline(shard, dueBucket, deadline) {
      const key = `${shard}/${dueBucket}`;
      let bucket = deadlines.get(key);
      if (!bucket) deadlines.set(key, (bucket = new Map()));
      const rowKey = `${deadline.chatId}\u0000${String(deadline.seq).padStart(16, '0')}`;
      bucket.set(rowKey, { ...deadline });
    },
    async deadlinesIn(shard, dueBucket) {
      const bucket = deadlines.get(`${shard}/${dueBucket}`);
      if (!bucket) return [];
      return [...bucket.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
    },
    async sweepCursor(shard) {
      return cursors.get(shard) ?? null;
    },
    async claimSweep(shard, expected, next) {
      if ((cursors.get(shard) ?? null) !== expected) return false;
      cursors.set(shard, next);
      return true;
    },
  };
}

/** In-process {@link UserSettingsStore}: per-field last-writer-wins by change time, like Cassandra's cells. */
export function createMemorySettingsStore(): UserSettingsStore {
  const fields = new Map<string, Map<keyof UserSettings, { value: boolean; atMs: number }>>();
  const read = (userId: string): UserSettings => {
    const user = fields.get(userId);
    return {
      readReceipts: user?.get('readReceipts')?.value ?? DEFAULT_USER_SETTINGS.readReceipts,
      presenceVisible: user?.get('presenceVisible')?.value ?? DEFAULT_USER_SETTINGS.presenceVisible,
    };
  };
  return {
    async get(userId) {
      return read(userId);
    },
    async getMany(userIds) {
      return new Map(userIds.map((u) => [u, read(u)]));
    },
    async put(userId, change, atMs) {
      let user = fields.get(userId);
      if (!user) fields.set(userId, (user = new Map()));
      for (const key of ['readReceipts', 'presenceVisible'] as const) {
        const value = change[key];
        if (value === undefined) continue;
        const current = user.get(key);
        if (!current || current.atMs <= atMs) user.set(key, { value, atMs });
      }
    },
  };
}

/** In-process {@link DeviceStore}. */
export function createMemoryDeviceStore(): DeviceStore {
  const users = new Map<string, Map<string, DeviceRecord>>();
  return {
    async list(userId) {
      return [...(users.get(userId)?.values() ?? [])].sort(
        (a, b) => a.registeredAtMs - b.registeredAtMs || (a.deviceId < b.deviceId ? -1 : 1),
      );
    },
    async register(userId, deviceId, atMs) {
      let user = users.get(userId);
      if (!user) users.set(userId, (user = new Map()));
      if (!user.has(deviceId)) user.set(deviceId, { deviceId, registeredAtMs: atMs, removedAtMs: null });
    },
    async remove(userId, deviceId, atMs) {
      let user = users.get(userId);
      if (!user) users.set(userId, (user = new Map()));
      const current = user.get(deviceId);
      if (current?.removedAtMs != null) return;
      user.set(deviceId, { deviceId, registeredAtMs: current?.registeredAtMs ?? atMs, removedAtMs: atMs });
    },
  };
}

/**
 * In-process {@link PushChannelStore} with Cassandra's last-write-wins: each device keeps its newest removal time
 * (the tombstone), and a registration at or before it stays removed, as one shadowed by a tombstone would.
 */
export function createMemoryPushChannelStore(): PushChannelStore {
  const users = new Map<string, Map<string, { record: PushChannelRecord | null; removedUpToMs: number }>>();
  const slot = (userId: string, deviceId: string) => {
    let user = users.get(userId);
    if (!user) users.set(userId, (user = new Map()));
    let device = user.get(deviceId);
    if (!device) user.set(deviceId, (device = { record: null, removedUpToMs: -Infinity }));
    return device;
  };
  return {
    async list(userId) {
      const out: PushChannelRecord[] = [];
      for (const { record } of users.get(userId)?.values() ?? []) if (record) out.push(record);
      return out.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
    },
    async put(userId, deviceId, channel, atMs) {
      const device = slot(userId, deviceId);
      if (atMs <= device.removedUpToMs) return;
      if (device.record && device.record.registeredAtMs > atMs) return;
      device.record = { deviceId, channel: { ...channel }, registeredAtMs: atMs };
    },
    async remove(userId, deviceId, atMs) {
      const device = slot(userId, deviceId);
      device.removedUpToMs = Math.max(device.removedUpToMs, atMs);
      if (device.record && device.record.registeredAtMs <= atMs) device.record = null;
    },
  };
}

/** Wake-ups the in-process push inbox keeps per user (the newest). */
const MEMORY_PUSH_INBOX_PER_USER = 200;

/** In-process {@link PushInboxStore}: the newest wake-ups per user, deduplicated like Cassandra's primary key. */
export function createMemoryPushInboxStore(): PushInboxStore {
  const users = new Map<string, Map<string, PushInboxEntry>>();
  return {
    async record(userId, entry) {
      let user = users.get(userId);
      if (!user) users.set(userId, (user = new Map()));
      user.set(`${entry.atMs}\u0000${entry.requestId}\u0000${entry.deviceId}`, { ...entry });
      if (user.size > MEMORY_PUSH_INBOX_PER_USER) {
        const oldest = [...user].sort(([, a], [, b]) => a.atMs - b.atMs)[0]![0];
        user.delete(oldest);
      }
    },
    async list(userId, limit) {
      return [...(users.get(userId)?.values() ?? [])]
        .sort((a, b) => b.atMs - a.atMs || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0))
        .slice(0, limit);
    },
  };
}
