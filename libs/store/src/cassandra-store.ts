import cassandra from 'cassandra-driver';
import { ChatmeshError } from '@chatmesh/errors';
import { withUnavailableErrors } from './unavailable-errors.js';
import { createCassandraAttachmentStore } from './cassandra-attachment-store.js';
import { createCassandraKeyDirectory } from './cassandra-key-directory.js';
import {
  bucketOf,
  DEFAULT_LOG_RETENTION,
  LOG_BUCKET_SIZE,
  type LogRetention,
  type BroadcastChatStore,
  type ChatCursorStore,
  type ChatDirectoryStore,
  type ChatStore,
  type CursorStore,
  type LogEntry,
  type MembershipRecord,
  type SequencedLogStore,
  type WriterEpochStore,
  writeStampOf,
} from './types.js';
import {
  createCassandraDeviceStore,
  createCassandraPushChannelStore,
  createCassandraPushInboxStore,
  createCassandraReceiptStore,
  createCassandraSettingsStore,
} from './cassandra-social-stores.js';

/** Connection options of {@link createCassandraStore}. */
export interface CassandraStoreOptions {
  /** `host:port` contact points. */
  readonly contactPoints: readonly string[];
  /** @default 'datacenter1' */
  readonly localDataCenter?: string;
  /** The keyspace the migrations created. */
  readonly keyspace: string;
  /** An existing client to reuse (the store then does not close it). */
  readonly client?: cassandra.Client;
  /** How long log rows and keys live (per-write `USING TTL`; 0: no TTL). @default DEFAULT_LOG_RETENTION */
  readonly retention?: LogRetention;
}

/** The longest wait between two attempts to reach a Cassandra host that went down. */
export const CASSANDRA_RECONNECT_MAX_DELAY_MS = 5_000;

/** Builds a driver client with the settings every chatmesh process uses. */
export function createCassandraClient(options: {
  readonly contactPoints: readonly string[];
  readonly localDataCenter?: string;
  readonly keyspace?: string;
}): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [...options.contactPoints],
    localDataCenter: options.localDataCenter ?? 'datacenter1',
    ...(options.keyspace ? { keyspace: options.keyspace } : {}),
    // Token-aware routing sends each statement to a replica of its partition.
    policies: {
      loadBalancing: new cassandra.policies.loadBalancing.TokenAwarePolicy(
        new cassandra.policies.loadBalancing.DCAwareRoundRobinPolicy(options.localDataCenter ?? 'datacenter1'),
      ),
      // The driver's default waits up to 10 minutes between attempts to reach a host it saw go down, so after a
      // Cassandra restart a process could stay "unavailable" long after the node was back, past the message
      // path's retries. Retry every 0.5 s, doubling, at most every CASSANDRA_RECONNECT_MAX_DELAY_MS.
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        500,
        CASSANDRA_RECONNECT_MAX_DELAY_MS,
        false,
      ),
    },
    // Every statement chatmesh issues is idempotent (conditional inserts, upserts), so the driver may retry.
    queryOptions: { prepare: true, isIdempotent: true, consistency: cassandra.types.consistencies.localQuorum },
    // The driver refuses a request (BusyConnectionError) once a connection has maxRequestsPerConnection in flight
    // (default 2,048). A gateway takes bursts well past that: a big group's creation has every member's device
    // read the chat at once. Protocol v4+ connections carry 32,768 streams; two connections per local host.
    pooling: {
      maxRequestsPerConnection: 32_768,
      coreConnectionsPerHost: { [cassandra.types.distance.local]: 2, [cassandra.types.distance.remote]: 1 },
    },
  });
}

/**
 * The Cassandra implementation of {@link ChatStore}: prepared statements, token-aware routing,
 * idempotent writes; a lightweight transaction only to claim a writer epoch (once per partition ownership) or to
 * mark a chat broadcast (once per chat), never per message.
 */
export async function createCassandraStore(options: CassandraStoreOptions): Promise<ChatStore> {
  const client = options.client ?? createCassandraClient(options);
  const ownsClient = options.client === undefined;
  try {
    await client.connect();
  } catch (error) {
    throw new ChatmeshError(
      'CM_ERR_STORE_UNAVAILABLE',
      `Cannot connect to Cassandra at ${options.contactPoints.join(',')}`,
      {
        cause: error,
        context: { contactPoints: options.contactPoints },
      },
    );
  }
  const ks = options.keyspace;
  const retention = options.retention ?? DEFAULT_LOG_RETENTION;
  // Every query goes through the guarded client: "unavailable for now" driver errors become retriable.
  const guarded = withUnavailableErrors(client);
  return {
    kind: 'cassandra',
    writerEpochs: createCassandraWriterEpochs(guarded, ks),
    chatLog: createCassandraLog(guarded, ks, 'chat_log', retention.chatLogSeconds, retention.chatKeySeconds),
    inboxLog: createCassandraLog(guarded, ks, 'inbox_log', retention.inboxSeconds, retention.inboxSeconds),
    directory: createCassandraDirectory(guarded, ks),
    cursors: createCassandraCursors(guarded, ks),
    broadcastChats: createCassandraBroadcastChats(guarded, ks),
    chatCursors: createCassandraChatCursors(guarded, ks),
    receipts: createCassandraReceiptStore(guarded, ks),
    settings: createCassandraSettingsStore(guarded, ks),
    devices: createCassandraDeviceStore(guarded, ks),
    pushChannels: createCassandraPushChannelStore(guarded, ks),
    pushInbox: createCassandraPushInboxStore(guarded, ks),
    attachments: createCassandraAttachmentStore(guarded, ks),
    keys: createCassandraKeyDirectory(guarded, ks),
    close: async () => {
      if (ownsClient) await client.shutdown();
    },
  };
}

function toLong(value: number): cassandra.types.Long {
  return cassandra.types.Long.fromNumber(value);
}

/** The write timestamp of a fenced write (see {@link writeStampOf}), as the driver takes it. */
function stampOf(epoch: number): cassandra.types.Long {
  return cassandra.types.Long.fromString(writeStampOf(epoch).toString());
}

function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  return (value as cassandra.types.Long).toNumber();
}

function rowToEntry(streamId: string, row: cassandra.types.Row): LogEntry {
  return {
    streamId,
    seq: toNumber(row['seq']),
    idempotencyKey: row['idempotency_key'] as string,
    kind: row['kind'] as string,
    payload: (row['payload'] as Buffer | null) ?? Buffer.alloc(0),
    createdAtMs: (row['created_at'] as Date).getTime(),
  };
}

/** Payload bytes one unlogged batch of log rows carries at most (Cassandra refuses batches over 50 KiB by default). */
const MAX_BATCH_PAYLOAD_BYTES = 32 * 1024;
/** Statements one unlogged batch carries at most. */
const MAX_BATCH_STATEMENTS = 64;

/** The parameters of a log's `write` statement, in its column order. */
function writeParams(entry: LogEntry, stamp: cassandra.types.Long, ttl: number): unknown[] {
  return [
    entry.streamId,
    toLong(bucketOf(entry.seq)),
    toLong(entry.seq),
    entry.idempotencyKey,
    entry.kind,
    entry.payload,
    new Date(entry.createdAtMs),
    stamp,
    ttl,
  ];
}

/**
 * One sequenced log. Every row and key is written with the configured TTL (0: none, which also overrides a table
 * default), so the environment's retention is the one that applies, whatever the table says (0008_retention).
 */
function createCassandraLog(
  client: cassandra.Client,
  ks: string,
  table: string,
  rowTtl: number,
  keyTtl: number,
): SequencedLogStore {
  const cols = 'seq, idempotency_key, kind, payload, created_at';
  const q = {
    insert: `INSERT INTO ${ks}.${table} (stream_id, bucket, seq, idempotency_key, kind, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?`,
    // The write timestamp carries the writer's epoch: the newest owner's row wins over a zombie's (0003_writer_epochs).
    write: `INSERT INTO ${ks}.${table} (stream_id, bucket, seq, idempotency_key, kind, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    get: `SELECT ${cols} FROM ${ks}.${table} WHERE stream_id = ? AND bucket = ? AND seq = ?`,
    after: `SELECT ${cols} FROM ${ks}.${table} WHERE stream_id = ? AND bucket = ? AND seq > ? LIMIT ?`,
    firstAfter: `SELECT seq FROM ${ks}.${table} WHERE stream_id = ? AND bucket = ? AND seq > ? AND seq <= ? LIMIT 1`,
    before: `SELECT ${cols} FROM ${ks}.${table} WHERE stream_id = ? AND bucket = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    findKey: `SELECT seq FROM ${ks}.${table}_keys WHERE stream_id = ? AND idempotency_key = ?`,
    putKey: `INSERT INTO ${ks}.${table}_keys (stream_id, idempotency_key, seq, created_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?`,
    findKeys: `SELECT idempotency_key, seq FROM ${ks}.${table}_keys WHERE stream_id = ? AND idempotency_key IN ?`,
    getHead: `SELECT seq FROM ${ks}.${table}_heads WHERE stream_id = ?`,
    // The write timestamp is the sequence itself, so the highest head wins whatever the arrival order.
    raiseHead: `INSERT INTO ${ks}.${table}_heads (stream_id, seq) VALUES (?, ?) USING TIMESTAMP ?`,
    // Static, so one cell per (stream, bucket) partition; the timestamp is the sequence (the highest wins) and TTL 0
    // keeps it when the rows beside it expire (0009_written_heads).
    markWritten: `UPDATE ${ks}.${table} USING TIMESTAMP ? AND TTL 0 SET written_head = ? WHERE stream_id = ? AND bucket = ?`,
    writtenHead: `SELECT written_head FROM ${ks}.${table} WHERE stream_id = ? AND bucket = ? LIMIT 1`,
  };
  /** The written-head statements for the rows of one write: one per bucket they fall in, each naming its highest. */
  const markWrittenOf = (rows: readonly LogEntry[]): Array<{ query: string; params: unknown[] }> => {
    const highest = new Map<number, number>();
    for (const entry of rows) {
      const bucket = bucketOf(entry.seq);
      if ((highest.get(bucket) ?? 0) < entry.seq) highest.set(bucket, entry.seq);
    }
    return [...highest].map(([bucket, seq]) => ({
      query: q.markWritten,
      params: [toLong(seq), toLong(seq), rows[0]!.streamId, toLong(bucket)],
    }));
  };
  return {
    async write(entry, epoch) {
      // One partition, so the row and its bucket's written head land together or not at all.
      await client.batch(
        [{ query: q.write, params: writeParams(entry, stampOf(epoch), rowTtl) }, ...markWrittenOf([entry])],
        {
          prepare: true,
          logged: false,
        },
      );
    },
    async insertIfAbsent(entry) {
      const result = await client.execute(
        q.insert,
        [
          entry.streamId,
          toLong(bucketOf(entry.seq)),
          toLong(entry.seq),
          entry.idempotencyKey,
          entry.kind,
          entry.payload,
          new Date(entry.createdAtMs),
          rowTtl,
        ],
        // A conditional insert runs Paxos; SERIAL within the DC is enough for one writer per stream.
        { serialConsistency: cassandra.types.consistencies.localSerial },
      );
      if (result.wasApplied()) return { applied: true };
      const row = result.first();
      return { applied: false, existing: rowToEntry(entry.streamId, row) };
    },
    async get(streamId, seq) {
      const row = (await client.execute(q.get, [streamId, toLong(bucketOf(seq)), toLong(seq)])).first();
      return row ? rowToEntry(streamId, row) : null;
    },
    async readAfter(streamId, afterSeq, limit) {
      const out: LogEntry[] = [];
      for (let bucket = bucketOf(afterSeq + 1); out.length < limit; bucket++) {
        const rows = (await client.execute(q.after, [streamId, toLong(bucket), toLong(afterSeq), limit - out.length]))
          .rows;
        for (const row of rows) {
          const entry = rowToEntry(streamId, row);
          // Only the gap-free run from afterSeq + 1, as in the memory store: a missing number (an expired row, or one
          // still being written) ends the read, and firstKeptAfter finds where the log resumes.
          if (entry.seq !== (out[out.length - 1]?.seq ?? afterSeq) + 1) return out;
          out.push(entry);
        }
        const last = out[out.length - 1];
        // Logs are gap-free: continue into the next bucket only if this one was read to its last number.
        if (!last || last.seq !== (bucket + 1) * LOG_BUCKET_SIZE - 1) break;
      }
      return out;
    },
    async readBefore(streamId, beforeSeq, limit) {
      const out: LogEntry[] = [];
      for (let bucket = bucketOf(beforeSeq - 1); bucket >= 0 && beforeSeq > 1 && out.length < limit; bucket--) {
        const rows = (await client.execute(q.before, [streamId, toLong(bucket), toLong(beforeSeq), limit - out.length]))
          .rows;
        for (const row of rows) out.push(rowToEntry(streamId, row));
      }
      return out;
    },
    async firstKeptAfter(streamId, afterSeq, upToSeq) {
      // One small read per bucket from the first candidate on: rows expire oldest first, so the first bucket that
      // still holds a row in range usually answers (a device offline for long walks the buckets it missed once).
      for (let bucket = bucketOf(afterSeq + 1); bucket <= bucketOf(upToSeq); bucket++) {
        const row = (
          await client.execute(q.firstAfter, [streamId, toLong(bucket), toLong(afterSeq), toLong(upToSeq)])
        ).first();
        if (row) return toNumber(row['seq']);
      }
      return null;
    },
    async findKey(streamId, key) {
      const row = (await client.execute(q.findKey, [streamId, key])).first();
      return row ? toNumber(row['seq']) : null;
    },
    async putKey(streamId, key, seq, epoch) {
      await client.execute(q.putKey, [streamId, key, toLong(seq), new Date(), stampOf(epoch), keyTtl]);
    },
    async findKeys(streamId, keys) {
      const found = new Map<string, number>();
      if (keys.length === 0) return found;
      const rows = (await client.execute(q.findKeys, [streamId, [...new Set(keys)]])).rows;
      for (const row of rows) found.set(row['idempotency_key'] as string, toNumber(row['seq']));
      return found;
    },
    async writeBatch(entries, epoch) {
      if (entries.length === 0) return;
      const stamp = stampOf(epoch);
      const now = new Date();
      // Rows of one stream share a partition (per bucket): one unlogged batch per chunk is one mutation there. Chunks
      // stay under Cassandra's batch size limit (batch_size_fail_threshold, 50 KiB by default); a big row goes alone.
      const chunks: LogEntry[][] = [];
      let chunk: LogEntry[] = [];
      let bytes = 0;
      for (const entry of entries) {
        if (
          chunk.length > 0 &&
          (bytes + entry.payload.length > MAX_BATCH_PAYLOAD_BYTES || chunk.length >= MAX_BATCH_STATEMENTS)
        ) {
          chunks.push(chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(entry);
        bytes += entry.payload.length;
      }
      chunks.push(chunk);
      // Each chunk's rows and the written heads of their buckets: per partition, one mutation.
      const rowWrites = chunks.map((rows) =>
        client.batch(
          [
            ...rows.map((entry) => ({ query: q.write, params: writeParams(entry, stamp, rowTtl) })),
            ...markWrittenOf(rows),
          ],
          { prepare: true, logged: false },
        ),
      );
      // Key rows are tiny and each its own partition: one batch per 64 of them (one request instead of 64).
      const keyWrites: Array<Promise<unknown>> = [];
      for (let start = 0; start < entries.length; start += MAX_BATCH_STATEMENTS) {
        const slice = entries.slice(start, start + MAX_BATCH_STATEMENTS);
        keyWrites.push(
          slice.length === 1
            ? this.putKey(slice[0]!.streamId, slice[0]!.idempotencyKey, slice[0]!.seq, epoch)
            : client.batch(
                slice.map((entry) => ({
                  query: q.putKey,
                  params: [entry.streamId, entry.idempotencyKey, toLong(entry.seq), now, stamp, keyTtl],
                })),
                { prepare: true, logged: false },
              ),
        );
      }
      await Promise.all([...rowWrites, ...keyWrites]);
    },
    async getHead(streamId) {
      const row = (await client.execute(q.getHead, [streamId])).first();
      return row ? toNumber(row['seq']) : 0;
    },
    async raiseHead(streamId, seq) {
      await client.execute(q.raiseHead, [streamId, toLong(seq), toLong(seq)]);
    },
    async highestWritten(streamId, fromSeq) {
      let highest = 0;
      // A bucket whose written head is its last number may have a successor; logs are gap-free as they are written.
      for (let bucket = bucketOf(fromSeq); ; bucket++) {
        const row = (await client.execute(q.writtenHead, [streamId, toLong(bucket)])).first();
        const written = row?.['written_head'];
        if (written === null || written === undefined) break;
        highest = Math.max(highest, toNumber(written));
        if (highest !== (bucket + 1) * LOG_BUCKET_SIZE - 1) break;
      }
      return highest;
    },
  };
}

/**
 * Epoch claims with a compare-and-set on one row per name: a Paxos round per claim, and claims happen once per
 * partition ownership (at start and after rebalances), never per message.
 */
function createCassandraWriterEpochs(client: cassandra.Client, ks: string): WriterEpochStore {
  const q = {
    read: `SELECT epoch FROM ${ks}.writer_epochs WHERE name = ?`,
    create: `INSERT INTO ${ks}.writer_epochs (name, epoch) VALUES (?, ?) IF NOT EXISTS`,
    advance: `UPDATE ${ks}.writer_epochs SET epoch = ? WHERE name = ? IF epoch = ?`,
  };
  const serial = { serialConsistency: cassandra.types.consistencies.localSerial };
  return {
    async claim(name) {
      for (let attempt = 0; attempt < 64; attempt++) {
        // A SERIAL read sees every committed claim, including one whose Paxos round another claimer left unfinished.
        const row = (
          await client.execute(q.read, [name], { consistency: cassandra.types.consistencies.localSerial })
        ).first();
        const current = row ? toNumber(row['epoch']) : 0;
        const result = row
          ? await client.execute(q.advance, [toLong(current + 1), name, toLong(current)], serial)
          : await client.execute(q.create, [name, toLong(1)], serial);
        if (result.wasApplied()) return current + 1;
        // Another writer claimed in between: read again and take the next one.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
      }
      throw new ChatmeshError('CM_ERR_STORE_CONTENTION', `Could not claim a writer epoch of ${name}`, {
        context: { name },
      });
    },
  };
}

function rowToMember(row: cassandra.types.Row): MembershipRecord {
  const removed = row['removed_seq'];
  return {
    chatId: row['chat_id'] as string,
    userId: row['user_id'] as string,
    role: row['role'] as 'admin' | 'member',
    joinedSeq: toNumber(row['joined_seq']),
    removedSeq: removed === null || removed === undefined ? null : toNumber(removed),
    addedBy: row['added_by'] as string,
  };
}

function createCassandraDirectory(client: cassandra.Client, ks: string): ChatDirectoryStore {
  const memberCols = 'chat_id, user_id, joined_seq, removed_seq, role, added_by';
  const q = {
    // Directory writes use USING TIMESTAMP = the chat sequence of their event: a replayed older event
    // can never override what a newer one wrote, whatever the order they arrive in.
    putChat: `INSERT INTO ${ks}.chats (chat_id, kind, name, picture_ref, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
    getChat: `SELECT chat_id, kind, name, picture_ref, created_by, created_at, updated_at FROM ${ks}.chats WHERE chat_id = ?`,
    addMember: `INSERT INTO ${ks}.chat_members (chat_id, user_id, joined_seq, role, added_by) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?`,
    addUserChat: `INSERT INTO ${ks}.user_chats (user_id, chat_id, joined_seq, removed_seq, role) VALUES (?, ?, ?, null, ?) USING TIMESTAMP ?`,
    openIntervals: `SELECT ${memberCols} FROM ${ks}.chat_members WHERE chat_id = ? AND user_id = ?`,
    closeInterval: `UPDATE ${ks}.chat_members USING TIMESTAMP ? SET removed_seq = ? WHERE chat_id = ? AND user_id = ? AND joined_seq = ?`,
    closeUserChat: `UPDATE ${ks}.user_chats USING TIMESTAMP ? SET removed_seq = ? WHERE user_id = ? AND chat_id = ?`,
    members: `SELECT ${memberCols} FROM ${ks}.chat_members WHERE chat_id = ?`,
    chatsOfUser: `SELECT chat_id, role, joined_seq, removed_seq FROM ${ks}.user_chats WHERE user_id = ?`,
  };
  const allIntervals = async (chatId: string): Promise<MembershipRecord[]> => {
    const out: MembershipRecord[] = [];
    // Groups hold at most 1,024 members, a few intervals each: page through them all.
    let pageState: string | undefined;
    do {
      const page = await client.execute(q.members, [chatId], { fetchSize: 1000, ...(pageState ? { pageState } : {}) });
      for (const row of page.rows) out.push(rowToMember(row));
      pageState = page.pageState ?? undefined;
    } while (pageState);
    return out;
  };
  return {
    async putChat(chat, atSeq) {
      await client.execute(q.putChat, [
        chat.chatId,
        chat.kind,
        chat.name,
        chat.pictureRef,
        chat.createdBy,
        new Date(chat.createdAtMs),
        new Date(chat.updatedAtMs),
        toLong(atSeq),
      ]);
    },
    async getChat(chatId) {
      const row = (await client.execute(q.getChat, [chatId])).first();
      if (!row) return null;
      return {
        chatId,
        kind: row['kind'] as 'direct' | 'group',
        name: (row['name'] as string | null) ?? null,
        pictureRef: (row['picture_ref'] as string | null) ?? null,
        createdBy: row['created_by'] as string,
        createdAtMs: (row['created_at'] as Date).getTime(),
        updatedAtMs: (row['updated_at'] as Date).getTime(),
      };
    },
    async addMember(m) {
      await client.batch(
        [
          {
            query: q.addMember,
            params: [m.chatId, m.userId, toLong(m.joinedSeq), m.role, m.addedBy, toLong(m.joinedSeq)],
          },
          { query: q.addUserChat, params: [m.userId, m.chatId, toLong(m.joinedSeq), m.role, toLong(m.joinedSeq)] },
        ],
        { prepare: true, logged: true },
      );
    },
    async removeMember(chatId, userId, removedSeq) {
      const rows = (await client.execute(q.openIntervals, [chatId, userId])).rows.map(rowToMember);
      for (const m of rows) {
        if (m.removedSeq !== null || m.joinedSeq >= removedSeq) continue;
        await client.batch(
          [
            {
              query: q.closeInterval,
              params: [toLong(removedSeq), toLong(removedSeq), chatId, userId, toLong(m.joinedSeq)],
            },
            { query: q.closeUserChat, params: [toLong(removedSeq), toLong(removedSeq), userId, chatId] },
          ],
          { prepare: true, logged: true },
        );
      }
    },
    async membersAt(chatId, seq) {
      return (await allIntervals(chatId)).filter(
        (m) => m.joinedSeq <= seq && (m.removedSeq === null || seq < m.removedSeq),
      );
    },
    async currentMembers(chatId) {
      return (await allIntervals(chatId)).filter((m) => m.removedSeq === null);
    },
    async chatsOfUser(userId) {
      const rows = (await client.execute(q.chatsOfUser, [userId])).rows;
      return rows
        .filter((r) => r['removed_seq'] === null || r['removed_seq'] === undefined)
        .map((r) => ({
          chatId: r['chat_id'] as string,
          role: r['role'] as 'admin' | 'member',
          joinedSeq: toNumber(r['joined_seq']),
        }));
    },
  };
}

function createCassandraCursors(client: cassandra.Client, ks: string): CursorStore {
  const q = {
    // USING TIMESTAMP = acked seq: a late, smaller ack loses to a larger one already written.
    advance: `INSERT INTO ${ks}.device_cursors (user_id, device_id, acked_seq, updated_at) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
    get: `SELECT acked_seq FROM ${ks}.device_cursors WHERE user_id = ? AND device_id = ?`,
    list: `SELECT device_id, acked_seq FROM ${ks}.device_cursors WHERE user_id = ?`,
  };
  return {
    async advance(userId, deviceId, ackedSeq) {
      await client.execute(q.advance, [userId, deviceId, toLong(ackedSeq), new Date(), toLong(ackedSeq)]);
    },
    async get(userId, deviceId) {
      const row = (await client.execute(q.get, [userId, deviceId])).first();
      return row ? toNumber(row['acked_seq']) : 0;
    },
    async listDevices(userId) {
      return (await client.execute(q.list, [userId])).rows.map((r) => ({
        deviceId: r['device_id'] as string,
        ackedSeq: toNumber(r['acked_seq']),
      }));
    },
  };
}

/** Chat ids per `IN` query of {@link BroadcastChatStore.sinceOfMany}: a coordinator reads each as its own partition. */
const BROADCAST_IN_CHUNK = 100;

/**
 * Broadcast chats over `broadcast_chats`: marked with INSERT ... IF NOT EXISTS, a Paxos round once per chat (its
 * first expansion as a broadcast chat), never per message; the first since seq stays.
 */
function createCassandraBroadcastChats(client: cassandra.Client, ks: string): BroadcastChatStore {
  const q = {
    mark: `INSERT INTO ${ks}.broadcast_chats (chat_id, since_seq) VALUES (?, ?) IF NOT EXISTS`,
    one: `SELECT since_seq FROM ${ks}.broadcast_chats WHERE chat_id = ?`,
    many: `SELECT chat_id, since_seq FROM ${ks}.broadcast_chats WHERE chat_id IN ?`,
  };
  return {
    async mark(chatId, sinceSeq) {
      const result = await client.execute(q.mark, [chatId, toLong(sinceSeq)], {
        serialConsistency: cassandra.types.consistencies.localSerial,
      });
      // Not applied: the row holds `[applied] = false` and the existing columns; the first mark wins. A retried
      // mark whose first attempt did apply finds its own value.
      if (result.wasApplied()) return sinceSeq;
      return toNumber(result.first()['since_seq']);
    },
    async sinceOf(chatId) {
      const row = (await client.execute(q.one, [chatId])).first();
      return row ? toNumber(row['since_seq']) : null;
    },
    async sinceOfMany(chatIds) {
      const unique = [...new Set(chatIds)];
      const chunks: string[][] = [];
      for (let i = 0; i < unique.length; i += BROADCAST_IN_CHUNK) chunks.push(unique.slice(i, i + BROADCAST_IN_CHUNK));
      const results = await Promise.all(chunks.map((chunk) => client.execute(q.many, [chunk])));
      const out = new Map<string, number>();
      for (const result of results) {
        for (const row of result.rows) out.set(row['chat_id'] as string, toNumber(row['since_seq']));
      }
      return out;
    },
  };
}

/** Per-device positions in broadcast chats over `device_chat_cursors` (one partition per device). */
function createCassandraChatCursors(client: cassandra.Client, ks: string): ChatCursorStore {
  const q = {
    // USING TIMESTAMP = acked seq, as device_cursors: a late, smaller ack loses to a larger one already written.
    advance: `INSERT INTO ${ks}.device_chat_cursors (user_id, device_id, chat_id, acked_seq) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
    list: `SELECT chat_id, acked_seq FROM ${ks}.device_chat_cursors WHERE user_id = ? AND device_id = ?`,
  };
  return {
    async advance(userId, deviceId, chatId, ackedSeq) {
      await client.execute(q.advance, [userId, deviceId, chatId, toLong(ackedSeq), toLong(ackedSeq)]);
    },
    async list(userId, deviceId) {
      const out = new Map<string, number>();
      let pageState: string | undefined;
      do {
        const page = await client.execute(q.list, [userId, deviceId], {
          fetchSize: 1000,
          ...(pageState ? { pageState } : {}),
        });
        for (const row of page.rows) out.set(row['chat_id'] as string, toNumber(row['acked_seq']));
        pageState = page.pageState ?? undefined;
      } while (pageState);
      return out;
    },
  };
}
