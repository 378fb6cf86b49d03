import cassandra from 'cassandra-driver';
import {
  DEFAULT_USER_SETTINGS,
  type DeliveryDeadline,
  type DeviceStore,
  type PushChannel,
  type PushChannelProvider,
  type PushChannelRecord,
  type PushChannelStore,
  type PushInboxStore,
  type ReceiptPointers,
  type ReceiptStore,
  type UserSettings,
  type UserSettingsStore,
} from './types.js';

const long = (value: number): cassandra.types.Long => cassandra.types.Long.fromNumber(value);
const num = (value: unknown): number =>
  value === null || value === undefined
    ? 0
    : typeof value === 'number'
      ? value
      : (value as cassandra.types.Long).toNumber();

/** Cassandra {@link ReceiptStore} over `receipt_pointers`, `delivery_deadlines` and `delivery_sweeps`. */
export function createCassandraReceiptStore(client: cassandra.Client, ks: string): ReceiptStore {
  const q = {
    ofChat: `SELECT user_id, delivered_seq, read_seq FROM ${ks}.receipt_pointers WHERE chat_id = ?`,
    one: `SELECT delivered_seq, read_seq FROM ${ks}.receipt_pointers WHERE chat_id = ? AND user_id = ?`,
    // Each pointer's write timestamp is its own value: the highest wins whatever the arrival order.
    raiseDelivered: `UPDATE ${ks}.receipt_pointers USING TIMESTAMP ? SET delivered_seq = ? WHERE chat_id = ? AND user_id = ?`,
    raiseRead: `UPDATE ${ks}.receipt_pointers USING TIMESTAMP ? SET read_seq = ? WHERE chat_id = ? AND user_id = ?`,
    addDeadline: `INSERT INTO ${ks}.delivery_deadlines (shard, due_bucket, chat_id, seq, sender_user_id, sent_at) VALUES (?, ?, ?, ?, ?, ?)`,
    deadlines: `SELECT chat_id, seq, sender_user_id, sent_at FROM ${ks}.delivery_deadlines WHERE shard = ? AND due_bucket = ?`,
    cursor: `SELECT next_bucket FROM ${ks}.delivery_sweeps WHERE shard = ?`,
    claimFirst: `INSERT INTO ${ks}.delivery_sweeps (shard, next_bucket) VALUES (?, ?) IF NOT EXISTS`,
    claimNext: `UPDATE ${ks}.delivery_sweeps SET next_bucket = ? WHERE shard = ? IF next_bucket = ?`,
  };
  const toPointers = (row: cassandra.types.Row): ReceiptPointers => ({
    deliveredSeq: num(row['delivered_seq']),
    readSeq: num(row['read_seq']),
  });
  return {
    async pointersOfChat(chatId) {
      const out = new Map<string, ReceiptPointers>();
      // A group has at most 1,024 members: one row each.
      let pageState: string | undefined;
      do {
        const page = await client.execute(q.ofChat, [chatId], { fetchSize: 1100, ...(pageState ? { pageState } : {}) });
        for (const row of page.rows) out.set(row['user_id'] as string, toPointers(row));
        pageState = page.pageState ?? undefined;
      } while (pageState);
      return out;
    },
    async pointers(chatId, userId) {
      const row = (await client.execute(q.one, [chatId, userId])).first();
      return row ? toPointers(row) : { deliveredSeq: 0, readSeq: 0 };
    },
    async raise(chatId, userId, raise) {
      const writes: Array<Promise<unknown>> = [];
      if (raise.deliveredSeq !== undefined && raise.deliveredSeq > 0) {
        writes.push(
          client.execute(q.raiseDelivered, [long(raise.deliveredSeq), long(raise.deliveredSeq), chatId, userId]),
        );
      }
      if (raise.readSeq !== undefined && raise.readSeq > 0) {
        writes.push(client.execute(q.raiseRead, [long(raise.readSeq), long(raise.readSeq), chatId, userId]));
      }
      await Promise.all(writes);
    },
    async addDeadline(shard, dueBucket, d) {
      await client.execute(q.addDeadline, [
        shard,
        long(dueBucket),
        d.chatId,
        long(d.seq),
        d.senderUserId,
        new Date(d.sentAtMs),
      ]);
    },
    async deadlinesIn(shard, dueBucket) {
      const out: DeliveryDeadline[] = [];
      let pageState: string | undefined;
      do {
        const page = await client.execute(q.deadlines, [shard, long(dueBucket)], {
          fetchSize: 1000,
          ...(pageState ? { pageState } : {}),
        });
        for (const row of page.rows) {
          out.push({
            chatId: row['chat_id'] as string,
            seq: num(row['seq']),
            senderUserId: row['sender_user_id'] as string,
            sentAtMs: (row['sent_at'] as Date).getTime(),
          });
        }
        pageState = page.pageState ?? undefined;
      } while (pageState);
      return out;
    },
    async sweepCursor(shard) {
      const row = (
        await client.execute(q.cursor, [shard], { consistency: cassandra.types.consistencies.serial })
      ).first();
      return row ? num(row['next_bucket']) : null;
    },
    async claimSweep(shard, expected, next) {
      const result =
        expected === null
          ? await client.execute(q.claimFirst, [shard, long(next)])
          : await client.execute(q.claimNext, [long(next), shard, long(expected)]);
      return result.wasApplied();
    },
  };
}

/** Cassandra {@link UserSettingsStore} over `user_settings` (each field written USING TIMESTAMP = change time). */
export function createCassandraSettingsStore(client: cassandra.Client, ks: string): UserSettingsStore {
  const q = {
    get: `SELECT user_id, read_receipts, presence_visible FROM ${ks}.user_settings WHERE user_id = ?`,
    many: `SELECT user_id, read_receipts, presence_visible FROM ${ks}.user_settings WHERE user_id IN ?`,
    readReceipts: `UPDATE ${ks}.user_settings USING TIMESTAMP ? SET read_receipts = ? WHERE user_id = ?`,
    presenceVisible: `UPDATE ${ks}.user_settings USING TIMESTAMP ? SET presence_visible = ? WHERE user_id = ?`,
  };
  const toSettings = (row: cassandra.types.Row | undefined | null): UserSettings => ({
    readReceipts: (row?.['read_receipts'] as boolean | null | undefined) ?? DEFAULT_USER_SETTINGS.readReceipts,
    presenceVisible: (row?.['presence_visible'] as boolean | null | undefined) ?? DEFAULT_USER_SETTINGS.presenceVisible,
  });
  return {
    async get(userId) {
      return toSettings((await client.execute(q.get, [userId])).first());
    },
    async getMany(userIds) {
      const out = new Map<string, UserSettings>(userIds.map((u) => [u, DEFAULT_USER_SETTINGS]));
      const unique = [...new Set(userIds)];
      // IN over partition keys, in slices: a group's 1,024 members take a few round trips, not 1,024.
      for (let i = 0; i < unique.length; i += 100) {
        const rows = (await client.execute(q.many, [unique.slice(i, i + 100)])).rows;
        for (const row of rows) out.set(row['user_id'] as string, toSettings(row));
      }
      return out;
    },
    async put(userId, change, atMs) {
      // Microseconds, the unit Cassandra's own timestamps use.
      const ts = long(atMs * 1000);
      const writes: Array<Promise<unknown>> = [];
      if (change.readReceipts !== undefined)
        writes.push(client.execute(q.readReceipts, [ts, change.readReceipts, userId]));
      if (change.presenceVisible !== undefined) {
        writes.push(client.execute(q.presenceVisible, [ts, change.presenceVisible, userId]));
      }
      await Promise.all(writes);
    },
  };
}

/** Cassandra {@link DeviceStore} over `user_devices`. Its single writer (presence) makes read-then-write safe. */
export function createCassandraDeviceStore(client: cassandra.Client, ks: string): DeviceStore {
  const q = {
    list: `SELECT device_id, registered_at, removed_at FROM ${ks}.user_devices WHERE user_id = ?`,
    one: `SELECT registered_at, removed_at FROM ${ks}.user_devices WHERE user_id = ? AND device_id = ?`,
    register: `INSERT INTO ${ks}.user_devices (user_id, device_id, registered_at) VALUES (?, ?, ?)`,
    remove: `UPDATE ${ks}.user_devices SET removed_at = ?, registered_at = ? WHERE user_id = ? AND device_id = ?`,
  };
  return {
    async list(userId) {
      return (await client.execute(q.list, [userId])).rows
        .map((row) => ({
          deviceId: row['device_id'] as string,
          registeredAtMs: ((row['registered_at'] as Date | null) ?? new Date(0)).getTime(),
          removedAtMs: (row['removed_at'] as Date | null)?.getTime() ?? null,
        }))
        .sort((a, b) => a.registeredAtMs - b.registeredAtMs || (a.deviceId < b.deviceId ? -1 : 1));
    },
    async register(userId, deviceId, atMs) {
      if ((await client.execute(q.one, [userId, deviceId])).first()) return;
      await client.execute(q.register, [userId, deviceId, new Date(atMs)]);
    },
    async remove(userId, deviceId, atMs) {
      const row = (await client.execute(q.one, [userId, deviceId])).first();
      if (row && row['removed_at']) return;
      const registered = (row?.['registered_at'] as Date | null | undefined) ?? new Date(atMs);
      await client.execute(q.remove, [new Date(atMs), registered, userId, deviceId]);
    },
  };
}

/** Cassandra {@link PushChannelStore} over `push_channels`: every write USING TIMESTAMP = its time, in microseconds. */
export function createCassandraPushChannelStore(client: cassandra.Client, ks: string): PushChannelStore {
  const q = {
    list: `SELECT device_id, provider, channel, registered_at FROM ${ks}.push_channels WHERE user_id = ?`,
    put: `INSERT INTO ${ks}.push_channels (user_id, device_id, provider, channel, registered_at) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`,
    remove: `DELETE FROM ${ks}.push_channels USING TIMESTAMP ? WHERE user_id = ? AND device_id = ?`,
  };
  const micros = (atMs: number): cassandra.types.Long => long(Math.round(atMs) * 1000);
  return {
    async list(userId) {
      const out: PushChannelRecord[] = [];
      for (const row of (await client.execute(q.list, [userId], { prepare: true })).rows) {
        const fields = JSON.parse(row['channel'] as string) as Record<string, unknown>;
        out.push({
          deviceId: row['device_id'] as string,
          channel: { ...fields, provider: row['provider'] as PushChannelProvider } as PushChannel,
          registeredAtMs: (row['registered_at'] as Date).getTime(),
        });
      }
      return out;
    },
    async put(userId, deviceId, channel, atMs) {
      const { provider, ...fields } = channel;
      await client.execute(q.put, [userId, deviceId, provider, JSON.stringify(fields), new Date(atMs), micros(atMs)], {
        prepare: true,
      });
    },
    async remove(userId, deviceId, atMs) {
      await client.execute(q.remove, [micros(atMs), userId, deviceId], { prepare: true });
    },
  };
}

/** Cassandra {@link PushInboxStore} over `push_inbox` (newest first, a day of TTL from the table). */
export function createCassandraPushInboxStore(client: cassandra.Client, ks: string): PushInboxStore {
  const q = {
    record: `INSERT INTO ${ks}.push_inbox (user_id, at, request_id, device_id, chat_id, badge) VALUES (?, ?, ?, ?, ?, ?)`,
    list: `SELECT at, request_id, device_id, chat_id, badge FROM ${ks}.push_inbox WHERE user_id = ? LIMIT ?`,
  };
  return {
    async record(userId, e) {
      await client.execute(q.record, [userId, new Date(e.atMs), e.requestId, e.deviceId, e.chatId, e.badge], {
        prepare: true,
      });
    },
    async list(userId, limit) {
      return (await client.execute(q.list, [userId, limit], { prepare: true })).rows.map((row) => ({
        deviceId: row['device_id'] as string,
        chatId: (row['chat_id'] as string | null) ?? null,
        badge: (row['badge'] as number | null) ?? 0,
        atMs: (row['at'] as Date).getTime(),
        requestId: row['request_id'] as string,
      }));
    },
  };
}
